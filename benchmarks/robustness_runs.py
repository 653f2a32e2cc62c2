"""The robustness part's records: `Column` (what one column measured), `SplitRobustness` (one model on one split
under every shift) and `PhotoRobustness` (the bundled pipeline on whole photos under the same shifts), written by
benchmarks/measure_robustness.py and benchmarks/photo_robustness.py, read by benchmarks/report_robustness.py. In a
result's JSON each is its fields, shifts keyed by name and then severity, so results written before the records
existed read the same (the stored ones were given their columns once, from their headings)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from benchmarks.drop_interval import DropIntervals
from benchmarks.records import JsonRecord

Score = TypeVar("Score", bound=JsonRecord)


def _shifts_json(shifts: dict[str, dict[str, Score]]) -> dict[str, dict[str, dict[str, Any]]]:
    return {name: {severity: score.to_json() for severity, score in by.items()} for name, by in shifts.items()}


def _read_shifts(data: dict[str, Any], score: type[Score]) -> dict[str, dict[str, Score]]:
    return {name: {severity: score.from_json(f) for severity, f in by.items()} for name, by in data["shifts"].items()}


@dataclass(frozen=True)
class Column(JsonRecord):
    """What one column of the part measured: a shipped model (`kind` "shipped", with its test-time augmentation
    and a prior other than its default, None for its default), the `fer` peer ("peer") or a teacher ("teacher")."""

    kind: str
    model: str
    tta: str = "none"
    prior: str | None = None

    @property
    def name(self) -> str:
        """The column's heading: "NAME", "NAME (flip)", "NAME (CHOICE prior)", "fer (peer)", "NAME (teacher)"."""
        if self.kind != "shipped":
            return f"{self.model} ({self.kind})"
        return self.model + (" (flip)" if self.tta == "flip" else "") + (f" ({self.prior} prior)" if self.prior else "")


@dataclass(frozen=True)
class ShiftScore(JsonRecord):
    """Balanced accuracy against the raters' majority under one shift, its drop from clean, answers changed."""

    balanced: float
    drop: float
    changed: float


@dataclass(frozen=True)
class SplitRobustness:
    """One model on one split: clean balanced accuracy, a `ShiftScore` per shift and severity, and how sure the
    moderate severity's mean and worst drops are (None in results from before the intervals were measured)."""

    clean: float
    faces: int
    shifts: dict[str, dict[str, ShiftScore]]
    intervals: DropIntervals | None = None

    @property
    def _moderate(self) -> dict[str, ShiftScore]:
        return {name: by["moderate"] for name, by in self.shifts.items()}

    @property
    def mean_drop(self) -> float:
        return float(np.mean([s.drop for s in self._moderate.values()]))

    @property
    def worst_shift(self) -> str:
        moderate = self._moderate
        return max(moderate, key=lambda name: moderate[name].drop)

    @property
    def worst_drop(self) -> float:
        return self._moderate[self.worst_shift].drop

    @property
    def mean_changed(self) -> float:
        return float(np.mean([s.changed for s in self._moderate.values()]))

    def to_json(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "faces": self.faces,
            "shifts": _shifts_json(self.shifts),
            "mean_drop": self.mean_drop,
            "worst_drop": self.worst_drop,
            "worst_shift": self.worst_shift,
            "mean_changed": self.mean_changed,
            "intervals": None if self.intervals is None else self.intervals.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SplitRobustness:
        found = data.get("intervals")
        intervals = None if found is None else DropIntervals.from_json(found)
        return cls(clean=data["clean"], faces=data["faces"], shifts=_read_shifts(data, ShiftScore), intervals=intervals)


@dataclass(frozen=True)
class PhotoShift(JsonRecord):
    """Of the clean faces, the share found again under one shift, and the share of those whose answer changed."""

    found: float
    changed: float


@dataclass(frozen=True)
class PhotoRobustness:
    """The whole-photo part: how many photos and clean faces, and a `PhotoShift` per shift and severity."""

    photos: int
    faces: int
    shifts: dict[str, dict[str, PhotoShift]]

    def to_json(self) -> dict[str, Any]:
        return {"photos": self.photos, "faces": self.faces, "shifts": _shifts_json(self.shifts)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PhotoRobustness:
        return cls(photos=data["photos"], faces=data["faces"], shifts=_read_shifts(data, PhotoShift))


def part_columns(part: dict[str, Any]) -> dict[str, Column]:
    """What each of the part's columns measured, by its name, in the part's order."""
    return {name: Column.from_json(column) for name, column in part["columns"].items()}


def model_robustness(part: dict[str, Any]) -> dict[str, dict[str, SplitRobustness]]:
    """The part's models, each split read into its record, in the part's order."""
    return {
        name: {split: SplitRobustness.from_json(r) for split, r in splits.items()}
        for name, splits in part["models"].items()
    }
