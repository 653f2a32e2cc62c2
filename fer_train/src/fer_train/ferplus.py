"""The field's yardstick (Barsoum et al. 2016, microsoft/FERPlus `src/ferplus.py`): top-1 accuracy against
the raters' majority under FER+'s rule (`votes.ferplus_majority`: single votes dropped, the top answer over
half of the rest and one of the 8 emotions, else the face is left out), on every face of a split whatever
its folder. Reported over all 8 emotions (a class the model lacks counts as wrong) and over the faces whose
majority is one of the model's classes (with balanced accuracy)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fer_runtime.spec import PreprocessSpec
from fer_train.data import load_every_face
from fer_train.metrics import Metrics, compute_metrics
from fer_train.votes import VoteTable, match_votes


@dataclass(frozen=True)
class FerPlusMetrics:
    accuracy: float  # over every face the rule keeps (8 emotions): a class the model lacks counts as wrong
    faces: int
    in_classes: Metrics  # over the faces whose FER+ majority is one of the model's classes

    def to_dict(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "faces": self.faces, "in_classes": self.in_classes.to_dict()}


def ferplus_metrics(predicted: np.ndarray, majority: np.ndarray, classes: tuple[str, ...]) -> FerPlusMetrics:
    """Predicted class indices [N] against FER+'s majority emotion per face [N] ("" where the rule keeps none)."""
    kept = majority != ""
    names = np.array(classes, dtype=object)[predicted[kept]]
    accuracy = float((names == majority[kept]).mean()) if kept.any() else 0.0
    inside = kept & np.isin(majority, classes)
    labels = np.array([classes.index(m) for m in majority[inside]], dtype=np.int64)
    return FerPlusMetrics(accuracy, int(kept.sum()), compute_metrics(labels, predicted[inside], classes))


@dataclass(frozen=True)
class FerPlusFaces:
    """The faces of a split that FER+'s rule keeps, with their majority emotion."""

    pixels: np.ndarray  # uint8 [N, H, W]
    majority: np.ndarray  # emotion names [N]


def ferplus_faces(
    data: str | os.PathLike[str], spec: PreprocessSpec, table: VoteTable, cache_dir: str | os.PathLike[str] | None
) -> FerPlusFaces:
    every = load_every_face(data, spec, cache_dir)
    majority = match_votes(table, every.paths, str(data)).ferplus
    assert majority is not None  # match_votes always fills it
    kept = majority != ""
    return FerPlusFaces(every.pixels[kept], majority[kept])


def score_ferplus(
    probabilities: Callable[[np.ndarray], np.ndarray],
    data: str | os.PathLike[str],
    spec: PreprocessSpec,
    table: VoteTable,
    cache_dir: str | os.PathLike[str] | None = None,
) -> FerPlusMetrics:
    """`probabilities` (uint8 faces → [N, C] over `spec.classes`) scored on every face of `data` the rule keeps."""
    faces = ferplus_faces(data, spec, table, cache_dir)
    return ferplus_metrics(probabilities(faces.pixels).argmax(1), faces.majority, spec.classes)


def format_ferplus(m: FerPlusMetrics) -> str:
    inside = m.in_classes
    return (
        f"FER+ majority rule ({m.faces} faces, 8 emotions): top-1 {m.accuracy:.4f}   on the model's classes "
        f"({inside.total} faces): top-1 {inside.accuracy:.4f}   balanced {inside.balanced_accuracy:.4f}"
    )
