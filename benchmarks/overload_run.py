"""`Overload`: the service part's overload phase (clients offering twice the measured capacity to a server with a
bounded queue), with `KeptAliveProbe`, the one extra client timing its own answers meanwhile; written by
benchmarks/measure_serve.py and read by benchmarks/report_serve.py. In a result's JSON it is the load's `WrkRun`
with these fields beside it, so results written before the record existed read the same."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.records import beside_run_json, record_fields
from benchmarks.wrk_run import Latency, WrkRun


def _latency(data: dict[str, float] | None) -> Latency | None:
    return None if data is None else Latency(**data)


@dataclass(frozen=True)
class KeptAliveProbe:
    """A request every 10 ms on one kept-alive connection: how long the 503s and the 200s took."""

    probes: int
    turned_away: Latency | None  # milliseconds of the 503 answers (None: none seen)
    turned_away_count: int
    accepted: Latency | None  # of the 200 answers
    accepted_count: int
    other_statuses: list[int]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeptAliveProbe:
        return cls(**{**data, "turned_away": _latency(data["turned_away"]), "accepted": _latency(data["accepted"])})


@dataclass(frozen=True)
class Overload:
    run: WrkRun
    offered_per_s: float
    max_queue: int  # the server's --max-queue
    delay_ms: float  # each client's pause between requests
    probe: KeptAliveProbe
    rss_before_mb: float
    rss_growth_mb: float
    alive_after: bool
    exit_status: int

    def to_json(self) -> dict[str, Any]:
        return beside_run_json(self, probe=asdict(self.probe))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Overload:
        return cls(
            run=WrkRun.from_json(data),
            probe=KeptAliveProbe.from_json(data["probe"]),
            **record_fields(cls, data, "run", "probe"),
        )
