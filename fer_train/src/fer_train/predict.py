"""One way to score a model on faces: a checkpoint through PyTorch or an exported graph through fer_runtime,
both fed by the shared preprocessing, so their figures compare directly."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from fer_runtime.errors import FerError
from fer_runtime.model_files import GRAPH_SUFFIXES
from fer_runtime.postprocess import softmax
from fer_runtime.preprocess import model_input
from fer_runtime.recognizer import Recognizer
from fer_runtime.spec import PreprocessSpec
from fer_train.data import FaceDataset, load_with_votes
from fer_train.graph_model import load_any_model
from fer_train.votes import VoteTable


@torch.inference_mode()
def predict_logits(model: nn.Module, pixels: np.ndarray, spec: PreprocessSpec, batch_size: int = 256) -> np.ndarray:
    """uint8 faces [N, H, W] → logits [N, C] of a PyTorch model, through the shared `model_input`."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(pixels), batch_size):
        x = torch.from_numpy(model_input(pixels[start : start + batch_size], spec)).to(device)
        out.append(model(x).float().cpu().numpy())
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, spec.num_classes), np.float32)


@dataclass(frozen=True)
class Predictions:
    dataset: FaceDataset
    probabilities: np.ndarray  # [N, C]

    @property
    def predicted(self) -> np.ndarray:
        return self.probabilities.argmax(1)

    @property
    def confidence(self) -> np.ndarray:
        return self.probabilities.max(1)

    def subset(self, indices: np.ndarray) -> Predictions:
        return Predictions(self.dataset.subset(indices), self.probabilities[indices])


class Predictor:
    """Logits and probabilities for uint8 faces from a checkpoint (.pt), an exported graph (.onnx) or face-api's
    expression net (its weights manifest)."""

    def __init__(
        self, model: str | os.PathLike[str], threads: int | None = None, prior: str | None = None, tta: str = "none"
    ) -> None:
        self.path = Path(model)
        if not self.path.is_file():
            raise FerError(f"model not found: {self.path}")
        if self.path.suffix in GRAPH_SUFFIXES:
            self._recognizer: Recognizer | None = Recognizer(self.path, threads=threads, prior=prior, tta=tta)
            self.spec: PreprocessSpec = self._recognizer.spec
        else:
            if prior not in (None, "trained") or tta != "none":
                raise FerError("a checkpoint gives its plain trained posterior; export it to choose a prior or --tta")
            self._recognizer = None
            loaded = load_any_model(self.path)
            self._model, self.spec = loaded.model, loaded.spec

    def logits(self, pixels: np.ndarray) -> np.ndarray:
        if self._recognizer is not None:
            return self._recognizer.logits(model_input(pixels, self.spec))
        return predict_logits(self._model, pixels, self.spec)

    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        """Probabilities [N, C]: an exported graph's calibrated ones (its temperature applied, as the runtime
        does), a checkpoint's plain softmax."""
        if self._recognizer is not None:
            return self._recognizer.probabilities(model_input(pixels, self.spec))
        return softmax(self.logits(pixels).astype(np.float64))

    def load(
        self,
        data: str | os.PathLike[str],
        cache_dir: str | os.PathLike[str] | None = None,
        votes: VoteTable | None = None,
    ) -> FaceDataset:
        """The faces of `data` in this model's classes, at its input size; labelled by FER+'s majority of
        `votes` when the data has no folder for some of the classes (contempt)."""
        dataset = load_with_votes(data, self.spec, cache_dir, votes)
        if len(dataset) == 0:
            raise FerError(f"{data}: no images of the model's classes {', '.join(self.spec.classes)}")
        return dataset

    def predict(
        self,
        data: str | os.PathLike[str],
        cache_dir: str | os.PathLike[str] | None = None,
        votes: VoteTable | None = None,
    ) -> Predictions:
        dataset = self.load(data, cache_dir, votes)
        return Predictions(dataset, self.probabilities(dataset.pixels))
