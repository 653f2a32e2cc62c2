"""Run a PyTorch model over a dataset and score it; `fer-train eval` writes the results."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from fer_runtime.atomic import write_text
from fer_runtime.errors import FerError
from fer_runtime.preprocess import model_input
from fer_runtime.spec import PreprocessSpec
from fer_train.checkpoint import load_model
from fer_train.data import FaceDataset, load_dataset
from fer_train.metrics import Metrics, compute_metrics, format_table
from fer_train.plots import plot_confusion


@torch.inference_mode()
def predict_logits(model: nn.Module, pixels: np.ndarray, spec: PreprocessSpec, batch_size: int = 256) -> np.ndarray:
    """uint8 faces [N, H, W] → logits [N, C], through the shared `model_input`."""
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(pixels), batch_size):
        x = torch.from_numpy(model_input(pixels[start:start + batch_size], spec))
        out.append(model(x).float().numpy())
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, spec.num_classes), np.float32)


@dataclass(frozen=True)
class Evaluation:
    metrics: Metrics
    logits: np.ndarray
    dataset: FaceDataset


def evaluate_model(model: nn.Module, dataset: FaceDataset, spec: PreprocessSpec) -> Evaluation:
    logits = predict_logits(model, dataset.pixels, spec)
    return Evaluation(compute_metrics(dataset.labels, logits.argmax(1), spec.classes), logits, dataset)


def evaluate_checkpoint(checkpoint: str | os.PathLike[str], data: str | os.PathLike[str],
                        out_dir: str | os.PathLike[str] | None = None,
                        cache_dir: str | os.PathLike[str] | None = None) -> Evaluation:
    """Score a checkpoint on a dataset; with `out_dir`, write metrics.json and confusion.png there."""
    loaded = load_model(checkpoint)
    dataset = load_dataset(data, loaded.spec.classes, loaded.spec, cache_dir)
    if len(dataset) == 0:
        raise FerError(f"{data}: no images of the model's classes {', '.join(loaded.spec.classes)}")
    result = evaluate_model(loaded.model, dataset, loaded.spec)
    if out_dir is not None:
        out = Path(out_dir)
        report = {"checkpoint": str(checkpoint), "data": str(data), "data_sha256": dataset.sha256,
                  **result.metrics.to_dict()}
        write_text(out / "metrics.json", json.dumps(report, indent=2))
        write_text(out / "metrics.txt", format_table(result.metrics) + "\n")
        plot_confusion(result.metrics, out / "confusion.png", title=f"{Path(data).name}: "
                       f"balanced acc. {result.metrics.balanced_accuracy:.3f}")
    return result
