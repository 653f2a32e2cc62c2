"""The training part's record: `TrainingSpeed` (one epoch of the shipped recipe per precision, and under
`torchrun`), written by benchmarks/measure_training.py and read by benchmarks/report.py. In a result's JSON it is
its fields as they are."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.records import JsonRecord


@dataclass(frozen=True)
class PrecisionSpeed(JsonRecord):
    """Images/s of one epoch at one precision, and the recipe's full run projected from it."""

    images_per_s: float
    full_run_min: float


@dataclass(frozen=True)
class TorchrunEpoch(JsonRecord):
    """Images/s of one epoch under `torchrun`, with each process's threads and batch."""

    images_per_s: float
    threads_each: int
    batch_each: int


@dataclass(frozen=True)
class TrainingSpeed:
    """`fit` with `config` for one epoch of `data` on `threads` threads: `speed` per precision, `torchrun` per
    process count; the full run is `epochs` epochs of `full_images` (the recipe's classes in `full_data`)."""

    config: str
    recipe_precision: str
    data: str
    threads: int
    epochs: int
    full_data: str
    full_images: int
    speed: dict[str, PrecisionSpeed]
    torchrun: dict[str, TorchrunEpoch]

    @property
    def full_run_min(self) -> float:
        """The recipe's full run at its own precision, minutes."""
        return self.speed[self.recipe_precision].full_run_min

    def to_json(self) -> dict[str, Any]:
        speed = {p: s.to_json() for p, s in self.speed.items()}
        return {**asdict(self), "speed": speed, "torchrun": {n: r.to_json() for n, r in self.torchrun.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainingSpeed:
        speed = {p: PrecisionSpeed.from_json(s) for p, s in data["speed"].items()}
        torchrun = {n: TorchrunEpoch.from_json(r) for n, r in data["torchrun"].items()}
        return cls(**{**data, "speed": speed, "torchrun": torchrun})
