"""The service's counters in Prometheus' text format: requests by route and status, their latency,
the sizes of the batches the model ran, and the faces waiting. One set per process."""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Sequence

LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class Histogram:
    """Cumulative buckets, a sum and a count, as Prometheus histograms are exposed."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum, self.count = 0.0, 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def lines(self, name: str, labels: str = "") -> list[str]:
        sep = "," if labels else ""
        cumulative, out = 0, []
        for bound, count in zip([*map(str, self.bounds), "+Inf"], self.counts):
            cumulative += count
            out.append(f'{name}_bucket{{{labels}{sep}le="{bound}"}} {cumulative}')
        suffix = f"{{{labels}}}" if labels else ""
        return [*out, f"{name}_sum{suffix} {self.sum:.6f}", f"{name}_count{suffix} {self.count}"]


class Metrics:
    def __init__(self, waiting_faces: Callable[[], int]) -> None:
        self.requests: Counter[tuple[str, int]] = Counter()
        self.latency: dict[str, Histogram] = {}
        self.batches = Histogram(BATCH_BUCKETS)
        self._waiting_faces = waiting_faces

    def request(self, route: str, status: int, seconds: float) -> None:
        self.requests[(route, status)] += 1
        self.latency.setdefault(route, Histogram(LATENCY_BUCKETS_S)).observe(seconds)

    def batch(self, size: int) -> None:
        self.batches.observe(size)

    def render(self) -> str:
        lines = [
            "# HELP fer_requests_total Requests answered, by route and HTTP status.",
            "# TYPE fer_requests_total counter",
            *(
                f'fer_requests_total{{route="{route}",status="{status}"}} {n}'
                for (route, status), n in sorted(self.requests.items())
            ),
            "# HELP fer_request_seconds Time from a request's arrival to its answer, by route.",
            "# TYPE fer_request_seconds histogram",
        ]
        for route, histogram in sorted(self.latency.items()):
            lines += histogram.lines("fer_request_seconds", f'route="{route}"')
        lines += [
            "# HELP fer_batch_faces Faces in each model call.",
            "# TYPE fer_batch_faces histogram",
            *self.batches.lines("fer_batch_faces"),
            "# HELP fer_waiting_faces Faces admitted and not yet answered.",
            "# TYPE fer_waiting_faces gauge",
            f"fer_waiting_faces {self._waiting_faces()}",
        ]
        return "\n".join(lines) + "\n"
