"""face-api's expression net (`face_expression_model`, 7 classes from 112x112 RGB faces) in PyTorch, as a
`LoadedModel` in fer's class names, so that `fit --teacher` and `eval --model` take its manifest path. Its
training data and accuracy were never published; it is measured here on the crowd's votes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fer_runtime.errors import FerError
from fer_runtime.spec import PreprocessSpec
from fer_train.checkpoint import LoadedModel
from fer_train.faceapi.layers import face_api_input, tf_same_pad
from fer_train.faceapi.weights import conv_filters, depthwise_filters, read_weights

# face-api's output order, in fer's class names
CLASSES = ("neutral", "happy", "sad", "angry", "fear", "disgust", "surprise")
MANIFEST = "face_expression_model-weights_manifest.json"
INPUT_SIZE = 112


class _SeparableConv(nn.Module):
    def __init__(self, weights: dict[str, np.ndarray], prefix: str, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.depthwise = nn.Parameter(depthwise_filters(weights[f"{prefix}/depthwise_filter"]))
        self.pointwise = nn.Parameter(conv_filters(weights[f"{prefix}/pointwise_filter"]))
        self.bias = nn.Parameter(torch.from_numpy(weights[f"{prefix}/bias"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(tf_same_pad(x, 3, self.stride), self.depthwise, stride=self.stride, groups=x.shape[1])
        return F.conv2d(x, self.pointwise, self.bias)


class _Conv(nn.Module):
    def __init__(self, weights: dict[str, np.ndarray], prefix: str, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.filters = nn.Parameter(conv_filters(weights[f"{prefix}/filters"]))
        self.bias = nn.Parameter(torch.from_numpy(weights[f"{prefix}/bias"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(tf_same_pad(x, 3, self.stride), self.filters, self.bias, stride=self.stride)


class _DenseBlock(nn.Module):
    """Four convolutions, the first halving the size, each fed the ReLU of the sum of those before it."""

    def __init__(self, weights: dict[str, np.ndarray], prefix: str, first: bool) -> None:
        super().__init__()
        head = _Conv if first else _SeparableConv
        self.convs = nn.ModuleList(
            [head(weights, f"{prefix}/conv0", 2)] + [_SeparableConv(weights, f"{prefix}/conv{i}", 1) for i in (1, 2, 3)]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = step = F.relu(self.convs[0](x))
        for conv in self.convs[1:]:
            total = total + conv(step)
            step = F.relu(total)
        return step


class FaceExpressionNet(nn.Module):
    """fer's normalised gray batch → face-api's 7 expression logits, or those of `keep` (indices)."""

    def __init__(self, weights: dict[str, np.ndarray], *, mean: float, std: float, keep: Sequence[int]) -> None:
        super().__init__()
        self.mean, self.std = mean, std
        self.blocks = nn.Sequential(*[_DenseBlock(weights, f"dense{i}", first=i == 0) for i in range(4)])
        self.fc = nn.Linear(256, len(CLASSES))
        self.fc.weight.data = torch.from_numpy(weights["fc/weights"].T.copy())
        self.fc.bias.data = torch.from_numpy(weights["fc/bias"])
        self.keep = list(keep)

    def rgb_logits(self, rgb: torch.Tensor) -> torch.Tensor:
        """face-api's seven logits for its own input, [N, 3, 112, 112] (`face_api_input`)."""
        return self.fc(F.avg_pool2d(self.blocks(rgb), 7, 2).flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rgb_logits(face_api_input(x, mean=self.mean, std=self.std, size=INPUT_SIZE))[:, self.keep]


def load_expression_net(manifest: str | os.PathLike[str], classes: Sequence[str] | None = None) -> LoadedModel:
    """face-api's expression net from `manifest`, predicting `classes` (a subset of its seven, in that order;
    None: all seven), for faces preprocessed as the returned spec says."""
    wanted = tuple(classes) if classes is not None else CLASSES
    missing = [name for name in wanted if name not in CLASSES]
    if missing:
        raise FerError(f"face-api's expression net has no {', '.join(missing)}; it predicts {', '.join(CLASSES)}")
    spec = PreprocessSpec(classes=wanted, mean=0.0, std=1.0)
    model = FaceExpressionNet(
        read_weights(manifest), mean=spec.mean, std=spec.std, keep=[CLASSES.index(c) for c in wanted]
    )
    model.eval()
    return LoadedModel(
        model, spec, {"model": {"name": "face_api_expression", "options": {}}, "face_api": str(Path(manifest))}
    )
