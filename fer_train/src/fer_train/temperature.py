"""Post-hoc calibration: one temperature T for the logits (probabilities = softmax(logits / T)), fitted on
validation faces by minimising the cross-entropy against their targets: the raters' vote shares when
votes are given, else the one-hot labels (Guo et al., 2017, "On calibration of modern neural networks")."""

from __future__ import annotations

import numpy as np

from fer_runtime.postprocess import softmax

SEARCH = (0.05, 20.0)  # the temperatures considered


def cross_entropy(logits: np.ndarray, targets: np.ndarray, temperature: float = 1.0) -> float:
    """Mean cross-entropy of softmax(logits / T) against target distributions [N, C]."""
    log_p = np.log(np.clip(softmax(logits.astype(np.float64), temperature), 1e-12, 1.0))
    return float(-(targets * log_p).sum(1).mean())


def fit_temperature(logits: np.ndarray, targets: np.ndarray) -> float:
    """The T that minimises `cross_entropy` (a grid over log T, then golden-section refinement)."""
    grid = np.exp(np.linspace(np.log(SEARCH[0]), np.log(SEARCH[1]), 121))
    losses = [cross_entropy(logits, targets, t) for t in grid]
    best = int(np.argmin(losses))
    low, high = np.log(grid[max(best - 1, 0)]), np.log(grid[min(best + 1, len(grid) - 1)])
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(40):
        a, b = high - ratio * (high - low), low + ratio * (high - low)
        if cross_entropy(logits, targets, float(np.exp(a))) < cross_entropy(logits, targets, float(np.exp(b))):
            high = b
        else:
            low = a
    return round(float(np.exp((low + high) / 2)), 4)
