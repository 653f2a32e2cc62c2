"""`wrk()` runs one load from `wrk` (benchmarks/wrk_post.lua) and returns its `WrkRun`, the record the service,
abuse and container parts measure and their reports read. In a result's JSON a run is the script's own figures
with `per_s` and `connections` added (and the part's own keys beside them), so results written before the record
existed read the same."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.records import record_fields

WRK_SCRIPT = Path(__file__).with_name("wrk_post.lua")


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
        return cls(latency_ms=Latency(**data["latency_ms"]), **record_fields(cls, data, "latency_ms"))


def wrk(
    url: str,
    body: Path | None,
    content_type: str = "",
    *,
    connections: int,
    seconds: float,
    delay_ms: float = 0,
    route: str = "/v1/analyze",
) -> WrkRun:
    """POST `body` to `route` from `connections` clients for `seconds` (GET it when `body` is None); each waits
    `delay_ms` between requests."""
    env = {"FER_TYPE": content_type, "FER_DELAY_MS": f"{delay_ms:.3f}", "PATH": "/usr/bin:/bin"}
    if body is not None:
        env["FER_BODY"] = str(body)
    command = [
        shutil.which("wrk") or "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(WRK_SCRIPT),
        f"{url}{route}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=seconds + 60, check=True)
    line = next(line for line in done.stdout.splitlines() if line.startswith("FERJSON "))
    figures = json.loads(line.removeprefix("FERJSON "))
    return WrkRun(connections=connections, latency_ms=Latency(**figures.pop("latency_ms")), **figures)
