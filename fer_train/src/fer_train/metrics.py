"""Classification metrics from labels and predictions (NumPy only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Metrics:
    classes: tuple[str, ...]
    confusion: np.ndarray  # [true, predicted] counts

    @property
    def total(self) -> int:
        return int(self.confusion.sum())

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.confusion) / max(self.total, 1))

    @property
    def per_class_recall(self) -> dict[str, float]:
        support = self.confusion.sum(axis=1)
        recall = np.divide(np.diag(self.confusion), support, out=np.zeros(len(self.classes)), where=support > 0)
        return {name: float(r) for name, r in zip(self.classes, recall)}

    @property
    def balanced_accuracy(self) -> float:
        """Mean recall over the classes that have at least one true sample."""
        support = self.confusion.sum(axis=1)
        recalls = [r for r, s in zip(self.per_class_recall.values(), support) if s > 0]
        return float(np.mean(recalls)) if recalls else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.total,
            "accuracy": self.accuracy,
            "balanced_accuracy": self.balanced_accuracy,
            "per_class_recall": self.per_class_recall,
            "support": {c: int(s) for c, s in zip(self.classes, self.confusion.sum(axis=1))},
            "classes": list(self.classes),
            "confusion": self.confusion.tolist(),
        }


@dataclass(frozen=True)
class Reliability:
    ece: float
    edges: np.ndarray  # bin edges of the top-1 confidence, [B + 1]
    confidence: np.ndarray  # mean confidence per bin (nan where empty), [B]
    accuracy: np.ndarray  # accuracy per bin (nan where empty), [B]
    counts: np.ndarray  # images per bin, [B]


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> Reliability:
    """Expected calibration error: the count-weighted gap between confidence and accuracy per bin.
    `correct` may be 0/1 (right or wrong) or a share (of raters who chose the predicted class)."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore"):
        mean_conf = np.bincount(which, weights=confidence, minlength=bins) / counts
        mean_acc = np.bincount(which, weights=correct.astype(np.float64), minlength=bins) / counts
    filled = counts > 0
    ece = float(np.sum(counts[filled] * np.abs(mean_conf[filled] - mean_acc[filled])) / max(1, len(confidence)))
    return Reliability(ece, edges, mean_conf, mean_acc, counts)


def compute_metrics(labels: np.ndarray, predictions: np.ndarray, classes: Sequence[str]) -> Metrics:
    k = len(classes)
    confusion = np.bincount(labels * k + predictions, minlength=k * k).reshape(k, k)
    return Metrics(tuple(classes), confusion)


def format_table(metrics: Metrics, title: str = "") -> str:
    """A plain-text table: overall figures, per-class recall and the confusion matrix."""
    width = max(9, *(len(c) for c in metrics.classes))
    lines = [title] if title else []
    lines.append(
        f"images {metrics.total}   accuracy {metrics.accuracy:.4f}   balanced accuracy {metrics.balanced_accuracy:.4f}"
    )
    header = "true \\ pred".ljust(width + 2) + "".join(c[:width].rjust(width + 1) for c in metrics.classes)
    lines.append(header + "   recall")
    for name, row in zip(metrics.classes, metrics.confusion):
        cells = "".join(str(int(v)).rjust(width + 1) for v in row)
        lines.append(name.ljust(width + 2) + cells + f"   {metrics.per_class_recall[name]:.3f}")
    return "\n".join(lines)
