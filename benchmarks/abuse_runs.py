"""The abuse part's records, written by benchmarks/measure_abuse.py and read by benchmarks/report_hostile.py:
`SlowClients` (wrk alone and beside slow-header connections, then the header deadline against as many) and
`KilledWorker` (one of two workers SIGKILLed under load, /healthz probed throughout). In a result's JSON each
is its fields as they are, a `WrkRun` spread among them, so results written before the records existed read the
same."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.records import beside_run_json, record_fields
from benchmarks.wrk_run import WrkRun


@dataclass(frozen=True)
class MedianRun:
    """Of several rounds, the run of median rate with the median p99 of all (rounds are noisy on a shared
    2-core machine), and every round."""

    run: WrkRun
    rounds: list[WrkRun]

    def to_json(self) -> dict[str, Any]:
        return {**self.run.to_json(), "rounds": [r.to_json() for r in self.rounds]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MedianRun:
        return cls(WrkRun.from_json(data), [WrkRun.from_json(r) for r in data["rounds"]])


@dataclass(frozen=True)
class SlowClients:
    slow_clients: int  # slow-header connections held open
    alone: MedianRun
    beside_slow: MedianRun
    exit_status: int
    header_timeout_s: float  # the default deadline the cut-off was measured against
    cut_off_408: int  # slow clients answered 408 and closed by it
    cut_off_within_s: float

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "alone": self.alone.to_json(), "beside_slow": self.beside_slow.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SlowClients:
        return cls(
            alone=MedianRun.from_json(data["alone"]),
            beside_slow=MedianRun.from_json(data["beside_slow"]),
            **record_fields(cls, data, "alone", "beside_slow"),
        )


@dataclass(frozen=True)
class HealthProbe:
    """GET /healthz at a fixed pace: how often, how many failed, the longest stretch without a 200."""

    probes: int
    failures: int
    longest_gap_s: float


@dataclass(frozen=True)
class KilledWorker:
    run: WrkRun
    workers: int
    replaced_after_s: float | None  # until the supervisor started another (None: not within its limit)
    probe: HealthProbe
    startups: int  # worker start-ups in the server's log
    exit_status: int

    def to_json(self) -> dict[str, Any]:
        return beside_run_json(self, probe=asdict(self.probe))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KilledWorker:
        return cls(
            run=WrkRun.from_json(data), probe=HealthProbe(**data["probe"]), **record_fields(cls, data, "run", "probe")
        )
