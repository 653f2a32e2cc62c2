"""`WrkRun`: one load from `wrk` (benchmarks/wrk_post.lua), the record the service, abuse and container parts
measure and their reports read. In a result's JSON it is the script's own figures with `per_s` and `connections`
added (and the part's own keys beside them), so results written before the record existed read the same."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Latency:
    """Milliseconds from a request's send to its answer, over the run."""

    p50: float
    p90: float
    p99: float
    max: float

    def with_p99(self, p99: float) -> Latency:
        return Latency(self.p50, self.p90, p99, self.max)


@dataclass(frozen=True)
class WrkRun:
    requests: int
    seconds: float
    statuses: dict[str, int]  # answers by HTTP status, as text ("200")
    socket_errors: int  # connect, read, write and timeout errors together
    latency_ms: Latency
    connections: int
    crops_per_request: int = 1  # /v1/analyze/batch: the crops each request carries

    @property
    def per_s(self) -> float:
        """Requests answered per second."""
        return self.requests / self.seconds

    @property
    def crops_per_s(self) -> float:
        return self.per_s * self.crops_per_request

    @property
    def non_2xx(self) -> int:
        """Answers outside 2xx, socket errors included."""
        return sum(n for status, n in self.statuses.items() if not status.startswith("2")) + self.socket_errors

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "per_s": self.per_s}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WrkRun:
        """The run in `data` (a part's keys beside it, such as `exit_status`, are left to the part)."""
        names = {f.name for f in fields(cls)} - {"latency_ms"}
        return cls(latency_ms=Latency(**data["latency_ms"]), **{k: v for k, v in data.items() if k in names})
