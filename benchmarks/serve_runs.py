"""The service part's smaller records: `InProcessRates` (the rates the service is held to, measured in process)
and `BadInputs` (malformed uploads sent while the crops load runs), written by benchmarks/measure_serve.py and
read by benchmarks/report_serve.py. In a result's JSON each is its fields as they are."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.records import JsonRecord


@dataclass(frozen=True)
class InProcessRates(JsonRecord):
    """`Recognizer.classify` at batch 64 (crops/s) and `Recognizer.analyze` on one photo (photos/s), all cores."""

    classify_per_s: float
    analyze_per_s: float


@dataclass(frozen=True)
class BadInputs(JsonRecord):
    """Each bad input's statuses over `rounds` rounds, and how often /healthz failed right after one."""

    statuses: dict[str, list[int]]
    rounds: int
    unhealthy_after: int

    @property
    def all_4xx(self) -> bool:
        return all(400 <= s < 500 for statuses in self.statuses.values() for s in statuses)
