"""How an exported model's graphs agree with PyTorch and with each other on labelled faces, the limits they
are held to, and that report as text. `export` measures all of it; `requantize` the int8 part."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from fer_runtime.errors import FerError
from fer_train.data import FaceDataset
from fer_train.metrics import compute_metrics
from fer_train.predict import Predictor

log = logging.getLogger(__name__)

FLOAT_TOLERANCE = 1e-4  # max |Δlogit| between PyTorch and the float graph
INT8_MAX_DROP, INT8_MIN_AGREEMENT = 0.01, 0.97  # accuracy points lost, top-1 agreement with the float graph


def float_parity(reference: np.ndarray, float_path: Path, dataset: FaceDataset) -> dict[str, Any]:
    """The float graph against PyTorch's logits `reference` on `dataset`."""
    classes = dataset.classes
    floats = Predictor(float_path).logits(dataset.pixels)
    return {
        "images": len(dataset),
        "float_max_abs_logit_diff": float(np.abs(floats - reference).max()),
        "float_top1_agreement": float((floats.argmax(1) == reference.argmax(1)).mean()),
        "pytorch": compute_metrics(dataset.labels, reference.argmax(1), classes).to_dict(),
        "onnx_float": compute_metrics(dataset.labels, floats.argmax(1), classes).to_dict(),
    }


def int8_parity(float_path: Path, int8_path: Path, dataset: FaceDataset) -> dict[str, Any]:
    """The int8 graph against the float one on `dataset`: its metrics, top-1 agreement and accuracy drop."""
    classes = dataset.classes
    floats = Predictor(float_path).logits(dataset.pixels).argmax(1)
    ints = Predictor(int8_path).logits(dataset.pixels).argmax(1)
    float_metrics = compute_metrics(dataset.labels, floats, classes).to_dict()
    int8_metrics = compute_metrics(dataset.labels, ints, classes).to_dict()
    return {
        "onnx_int8": int8_metrics,
        "int8_top1_agreement": float((ints == floats).mean()),
        "int8_accuracy_drop": float_metrics["accuracy"] - int8_metrics["accuracy"],
    }


def enforce(parity: dict[str, Any], allow_int8_drop: bool) -> None:
    """FerError when the float graph strays from PyTorch, or the int8 graph from the float one (a warning
    instead for int8 with `allow_int8_drop`)."""
    if "float_max_abs_logit_diff" in parity and (
        parity["float_max_abs_logit_diff"] > FLOAT_TOLERANCE or parity["float_top1_agreement"] < 1.0
    ):
        raise FerError(
            f"ONNX float graph differs from PyTorch: max |Δlogit| {parity['float_max_abs_logit_diff']:.2e}, "
            f"top-1 agreement {parity['float_top1_agreement']:.4f}"
        )
    if "onnx_int8" not in parity:
        return
    drop, agree = parity["int8_accuracy_drop"], parity["int8_top1_agreement"]
    if drop > INT8_MAX_DROP or agree < INT8_MIN_AGREEMENT:
        message = (
            f"int8 graph loses {drop * 100:.2f} accuracy points and agrees on {agree:.2%} "
            f"(limits: {INT8_MAX_DROP * 100:.0f} point, {INT8_MIN_AGREEMENT:.0%})"
        )
        if not allow_int8_drop:
            raise FerError(message + "; pass --allow-int8-drop to keep it anyway")
        log.warning("WARNING: %s (kept: --allow-int8-drop)", message)


def format_parity(parity: dict[str, Any]) -> str:
    lines = [f"parity on {parity['data']} ({parity['images']} images)"]
    if "float_max_abs_logit_diff" in parity:
        lines.append(
            f"  PyTorch vs ONNX float: max |Δlogit| {parity['float_max_abs_logit_diff']:.2e}, "
            f"top-1 agreement {parity['float_top1_agreement']:.2%}"
        )
    for key, label in (("pytorch", "PyTorch"), ("onnx_float", "ONNX float"), ("onnx_int8", "ONNX int8")):
        if key in parity:
            m = parity[key]
            lines.append(f"  {label:<11} accuracy {m['accuracy']:.4f}  balanced {m['balanced_accuracy']:.4f}")
    if "onnx_int8" in parity:
        lines.append(
            f"  int8 vs float: accuracy drop {parity['int8_accuracy_drop'] * 100:+.2f} points, "
            f"top-1 agreement {parity['int8_top1_agreement']:.2%}"
        )
    return "\n".join(lines)
