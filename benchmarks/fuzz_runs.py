"""The fuzz part's records, written by benchmarks/measure_fuzz.py and read by benchmarks/report_hostile.py:
`Uploads` (mutated files posted to `fer-serve`) and `FolderRun` (the same files through one `fer-run` process).
In a result's JSON each is its fields as they are, so results written before the records existed read the same."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.records import JsonRecord

NO_ANSWER = "no answer"  # the status counted when the server gave none in time or dropped the connection


@dataclass(frozen=True)
class Uploads(JsonRecord):
    statuses: dict[str, int]  # answers by HTTP status, as text, or NO_ANSWER
    by_mutation: dict[str, dict[str, int]]  # the same per kind of mutation
    seconds: float
    alive_after: bool  # /healthz answered 200 after the last upload
    tracebacks: int  # in the server's log
    exit_status: int

    @property
    def posted(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        """Answers outside 2xx and 4xx, the unanswered included."""
        return sum(n for status, n in self.statuses.items() if not status.startswith(("2", "4")))


@dataclass(frozen=True)
class FolderRun(JsonRecord):
    files: int
    records: int  # lines in fer-run's JSON Lines output
    error_lines: int  # files named by one of its one-line errors
    tracebacks: int
    exit_status: int
    seconds: float
    stderr_tail: str = ""  # the end of its stderr where it held a traceback (older results lack it)

    @property
    def answered(self) -> int:
        return self.records + self.error_lines
