"""dlib's ResNet-29 face descriptor (as face-api ships it: `face_recognition_model`, 5.6M parameters trained
on about three million faces to tell people apart) as a backbone: fer's gray face resized to `input_size`,
the network up to its 256-channel global average, then a new linear head over the classes. With
`pretrained` (the path of face-api's weights manifest) it starts from dlib's weights. No BatchNorm: each
convolution is followed by dlib's per-channel affine scale, folded into it here."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fer_train.faceapi.layers import face_api_input, tf_same_pad
from fer_train.faceapi.weights import conv_filters, read_weights

# dlib's stages: (name, channels, whether it halves the size) in order
STAGES = (
    [("conv32_1", 32, False), ("conv32_2", 32, False), ("conv32_3", 32, False)]
    + [("conv64_down", 64, True)] + [(f"conv64_{i}", 64, False) for i in (1, 2, 3)]
    + [("conv128_down", 128, True)] + [(f"conv128_{i}", 128, False) for i in (1, 2)]
    + [("conv256_down", 256, True)] + [(f"conv256_{i}", 256, False) for i in (1, 2)]
    + [("conv256_down_out", 256, True)]
)  # fmt: skip
# fer's train-split pixel statistics are within 0.01 of these (PreprocessSpec mean and std, pixel/255)
INPUT_MEAN, INPUT_STD = 0.5, 0.25
MIN_INPUT_SIZE = 112  # the smallest face whose last halving stage still has a 3x3 input


class _ScaledConv(nn.Module):
    """A convolution with dlib's per-channel scale and shift folded into it (a plain convolution trains at
    one learning rate; dlib's tiny filters under scales of 2-7 do not). "valid" when it strides, else "same"."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.stride, self.kernel = stride, kernel
        self.conv = nn.Conv2d(cin, cout, kernel, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x if self.stride > 1 else tf_same_pad(x, self.kernel, 1))

    def load(self, weights: dict[str, np.ndarray], prefix: str) -> None:
        scale = torch.from_numpy(weights[f"{prefix}/scale/weights"])
        shift = torch.from_numpy(weights[f"{prefix}/scale/biases"])
        self.conv.weight = nn.Parameter(conv_filters(weights[f"{prefix}/conv/filters"]) * scale.view(-1, 1, 1, 1))
        self.conv.bias = nn.Parameter(torch.from_numpy(weights[f"{prefix}/conv/bias"]) * scale + shift)


class _Residual(nn.Module):
    def __init__(self, cin: int, cout: int, down: bool) -> None:
        super().__init__()
        self.down = down
        self.conv1 = _ScaledConv(cin, cout, 3, 2 if down else 1)
        self.conv2 = _ScaledConv(cout, cout, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(F.relu(self.conv1(x)))
        if not self.down:
            return F.relu(out + x)
        pooled = F.avg_pool2d(x, 2, 2)  # dlib's shortcut: average-pooled, padded with zero channels and rows
        out = F.pad(out, (0, pooled.shape[-1] - out.shape[-1], 0, pooled.shape[-2] - out.shape[-2]))
        pooled = F.pad(pooled, (0, 0, 0, 0, 0, out.shape[1] - pooled.shape[1]))
        return F.relu(out + pooled)


class FaceDescriptorNet(nn.Module):
    def __init__(self, num_classes: int, input_size: int = 112, pretrained: str = "", dropout: float = 0.2) -> None:
        super().__init__()
        if input_size < MIN_INPUT_SIZE:
            raise ValueError(
                f"input_size must be at least {MIN_INPUT_SIZE} (dlib's last stage needs 3x3), got {input_size}"
            )
        self.input_size = input_size
        self.stem = _ScaledConv(3, 32, 7, 2)
        channels = [32] + [c for _, c, _ in STAGES]
        self.stages = nn.ModuleList(_Residual(channels[i], c, down) for i, (_, c, down) in enumerate(STAGES))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(256, num_classes)
        if pretrained:
            self.load_dlib(pretrained)

    def load_dlib(self, manifest: str) -> None:
        """dlib's weights from face-api's `manifest`, for everything but the head."""
        weights = read_weights(manifest)
        self.stem.load(weights, "conv32_down")
        for (name, _, _), stage in zip(STAGES, self.stages):
            assert isinstance(stage, _Residual)
            stage.conv1.load(weights, f"{name}/conv1")
            stage.conv2.load(weights, f"{name}/conv2")

    def rgb_features(self, rgb: torch.Tensor) -> torch.Tensor:
        """dlib's 256 pooled features (before its 128-d projection) for face-api's input, [N, 3, S, S]."""
        x = F.max_pool2d(F.relu(self.stem(rgb)), 3, 2)
        for stage in self.stages:
            x = stage(x)
        return x.mean((2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rgb = face_api_input(x, mean=INPUT_MEAN, std=INPUT_STD, size=self.input_size)
        return self.head(self.dropout(self.rgb_features(rgb)))
