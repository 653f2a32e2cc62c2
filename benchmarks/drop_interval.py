"""How sure a robustness figure is: a paired bootstrap over the faces of a split. Each resample draws the faces
with replacement, once for the clean and every shifted answer alike (the same faces, so what is shared cancels),
and scores balanced accuracy against the raters' majority with `fer_train.metrics` (mean recall over the classes
the resample holds), as `fer-train report`'s intervals of one model's figures do. Where a class is rare
(disgust, in the raters' majority on val) the balanced figures move with a few of its faces; the interval says
by how much."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from benchmarks.records import JsonRecord
from fer_train.metrics import compute_metrics

RESAMPLES = 1000
LEVEL = 0.95  # the central share of the resampled figures an interval spans


@dataclass(frozen=True)
class DropIntervals(JsonRecord):
    """95% intervals, in accuracy (not points), of the mean drop over the shifts and of the worst shift's drop."""

    mean_low: float
    mean_high: float
    worst_low: float
    worst_high: float

    @property
    def mean(self) -> tuple[float, float]:
        return self.mean_low, self.mean_high

    @property
    def worst(self) -> tuple[float, float]:
        return self.worst_low, self.worst_high


def _balanced(truth: np.ndarray, predicted: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """Balanced accuracy of each row of `predicted` [S, N] against `truth` [N]."""
    return np.array([compute_metrics(truth, row, classes).balanced_accuracy for row in predicted])


def drop_intervals(
    truth: np.ndarray,
    clean: np.ndarray,
    shifted: np.ndarray,
    worst: int,
    classes: Sequence[str],
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> DropIntervals:
    """Intervals of the drops from `clean` top-1 answers [N] to each row of `shifted` [S, N], against the raters'
    majority `truth` [N] (-1 where they had none: left out); `worst` is the row of the worst shift on all the faces
    (`SplitRobustness.worst_shift`)."""
    keep = truth >= 0
    truth, answers = truth[keep], np.vstack([clean[keep], shifted[:, keep]])
    rng = np.random.default_rng(seed)
    means, worsts = [], []
    for _ in range(resamples):
        faces = rng.integers(0, len(truth), len(truth))
        scores = _balanced(truth[faces], answers[:, faces], classes)
        drops = scores[0] - scores[1:]
        means.append(drops.mean())
        worsts.append(drops[worst])
    tails = [(1 - LEVEL) / 2 * 100, (1 + LEVEL) / 2 * 100]
    (mean_low, mean_high), (worst_low, worst_high) = np.percentile(means, tails), np.percentile(worsts, tails)
    return DropIntervals(
        mean_low=float(mean_low), mean_high=float(mean_high), worst_low=float(worst_low), worst_high=float(worst_high)
    )
