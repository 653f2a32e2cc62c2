"""The robustness benchmark's intervals (`benchmarks.drop_interval`): paired bootstrap over a split's faces."""

from __future__ import annotations

import numpy as np

from benchmarks.drop_interval import drop_intervals
from fer_train.metrics import compute_metrics

CLASSES = ("angry", "happy", "neutral", "sad")


def _faces(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raters' majority (a tenth without one), clean answers right on 90% of faces, and two shifts that turn a
    further 5% and 20% of the answers to `neutral`."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, len(CLASSES), n)
    truth[rng.random(n) < 0.1] = -1
    clean = np.where(rng.random(n) < 0.9, np.maximum(truth, 0), rng.integers(0, len(CLASSES), n))
    shifted = np.stack([np.where(rng.random(n) < share, 2, clean) for share in (0.05, 0.2)])
    return truth, clean, shifted


def _balanced(truth: np.ndarray, answers: np.ndarray) -> float:
    keep = truth >= 0
    return compute_metrics(truth[keep], answers[keep], CLASSES).balanced_accuracy


def test_intervals_hold_the_drops_measured_on_all_faces():
    truth, clean, shifted = _faces(3000)
    drops = [_balanced(truth, clean) - _balanced(truth, row) for row in shifted]
    found = drop_intervals(truth, clean, shifted, 1, CLASSES, resamples=300)
    assert found.mean_low < np.mean(drops) < found.mean_high
    assert found.worst_low < max(drops) < found.worst_high  # the worst shift is the one that turned 20%
    assert found.worst_low > found.mean_high  # its drop is surely larger than the mean's


def test_intervals_narrow_with_more_faces_and_vanish_without_a_change():
    few = drop_intervals(*_faces(300), 1, CLASSES, resamples=300)
    many = drop_intervals(*_faces(3000), 1, CLASSES, resamples=300)
    assert many.mean_high - many.mean_low < 0.6 * (few.mean_high - few.mean_low)
    truth, clean, _ = _faces(500)
    same = drop_intervals(truth, clean, np.stack([clean, clean]), 0, CLASSES, resamples=50)
    assert (same.mean_low, same.mean_high, same.worst_low, same.worst_high) == (0, 0, 0, 0)


def test_faces_without_a_majority_change_nothing():
    truth, clean, shifted = _faces(1000)
    other = shifted.copy()
    other[:, truth < 0] = 3 - other[:, truth < 0]  # other answers on the faces the raters split on
    assert drop_intervals(truth, clean, shifted, 1, CLASSES) == drop_intervals(truth, clean, other, 1, CLASSES)
