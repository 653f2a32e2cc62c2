"""Warm-up, then medians of repeated timings with min and max; several calls timed in turn, round after round."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

ROUNDS = 5  # every call is timed once per round, in turn, so a slow spell of the machine falls on all alike
Timed = tuple[Callable[[np.ndarray], Any], np.ndarray]  # a model call and its batch of prepared faces


@dataclass(frozen=True)
class Timing:
    """Seconds per call over `n` timed calls: the median, the fastest and the slowest."""

    median_s: float
    min_s: float
    max_s: float
    n: int


def measure(run: Callable[[], Any], repeats: int, warmup: int = 3) -> Timing:
    """Seconds per call: median, min, max over `repeats` timed calls after `warmup` untimed ones."""
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return Timing(median_s=statistics.median(samples), min_s=min(samples), max_s=max(samples), n=repeats)


def interleaved_speed(timed: dict[str, Timed], repeats: int) -> dict[str, dict[str, float]]:
    """Batch-1 ms and whole-batch crops/s of each call: the median over ROUNDS rounds, each timing every call in
    turn (batch 1 `repeats` times, the whole batch `repeats` / 10 times, at least 2, per round)."""
    rounds: dict[str, tuple[list[float], list[float]]] = {key: ([], []) for key in timed}
    for _ in range(ROUNDS):
        for key, (run, faces) in timed.items():
            rounds[key][0].append(measure(partial(run, faces[:1]), repeats).median_s * 1e3)
            rounds[key][1].append(len(faces) / measure(partial(run, faces), max(2, repeats // 10)).median_s)
    return {
        key: {"batch1_ms": statistics.median(b1), "batch64_per_s": statistics.median(b64)}
        for key, (b1, b64) in rounds.items()
    }
