"""Warm-up, then medians of repeated timings with min and max; several calls timed in turn, round after round."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from benchmarks.records import JsonRecord

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


@dataclass(frozen=True)
class CallSpeed(JsonRecord):
    """One model call's batch-1 milliseconds and whole-batch crops/s (medians over the rounds)."""

    batch1_ms: float
    batch64_per_s: float


def best_speed(speeds: dict[str, CallSpeed]) -> CallSpeed:
    """The fastest batch-1 time and the highest batch-64 rate over thread counts (each at its own best)."""
    return CallSpeed(
        batch1_ms=min(s.batch1_ms for s in speeds.values()),
        batch64_per_s=max(s.batch64_per_s for s in speeds.values()),
    )


def read_speeds(data: dict[str, dict[str, Any]]) -> dict[str, CallSpeed]:
    """Speeds keyed by thread count (`1t`, `2t`) out of a result's JSON."""
    return {key: CallSpeed.from_json(s) for key, s in data.items()}


def interleaved_speed(timed: dict[str, Timed], repeats: int) -> dict[str, CallSpeed]:
    """Batch-1 ms and whole-batch crops/s of each call: the median over ROUNDS rounds, each timing every call in
    turn (batch 1 `repeats` times, the whole batch `repeats` / 10 times, at least 2, per round)."""
    rounds: dict[str, tuple[list[float], list[float]]] = {key: ([], []) for key in timed}
    for _ in range(ROUNDS):
        for key, (run, faces) in timed.items():
            rounds[key][0].append(measure(partial(run, faces[:1]), repeats).median_s * 1e3)
            rounds[key][1].append(len(faces) / measure(partial(run, faces), max(2, repeats // 10)).median_s)
    return {
        key: CallSpeed(batch1_ms=statistics.median(b1), batch64_per_s=statistics.median(b64))
        for key, (b1, b64) in rounds.items()
    }
