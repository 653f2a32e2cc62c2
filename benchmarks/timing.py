"""Warm-up, then medians of repeated timings with min and max."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def measure(run: Callable[[], Any], repeats: int, warmup: int = 3) -> dict[str, float]:
    """Seconds per call: median, min, max over `repeats` timed calls after `warmup` untimed ones."""
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return {"median_s": statistics.median(samples), "min_s": min(samples), "max_s": max(samples), "n": repeats}
