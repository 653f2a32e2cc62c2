"""What `fit` records of each epoch (its training figures and, when it was validated, the validation figures)
and what it returns (`FitResult`). A run's history is a list of epoch records, kept in its checkpoints and
written as metrics.json / metrics.csv; on disk each is one flat JSON object (the validation figures' keys
start with "val_"), as runs have always written them, so older runs' files still read (a figure they did not
record reads as None)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from fer_runtime.errors import FerError


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def _present(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in fields(record) if getattr(record, f.name) is not None}


@dataclass(frozen=True)
class Validation:
    """One epoch's figures on the validation faces: on the folder labels; with votes, against the raters'
    majority (and KL, ECE); with FER+'s rule, its yardstick on every face of the split."""

    val_loss: float
    val_accuracy: float
    val_balanced_accuracy: float
    val_recall: dict[str, float] | None = None  # None in files written without it
    val_crowd_accuracy: float | None = None
    val_crowd_balanced_accuracy: float | None = None
    val_crowd_kl: float | None = None
    val_crowd_ece: float | None = None
    val_crowd_recall: dict[str, float] | None = None
    val_ferplus_accuracy: float | None = None
    val_ferplus_class_accuracy: float | None = None
    val_ferplus_balanced_accuracy: float | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Validation | None:
        """The validation figures in an epoch's JSON; None for an epoch that was not validated."""
        return cls(**_known(cls, data)) if "val_loss" in data else None


@dataclass(frozen=True)
class EpochRecord:
    """One epoch: the training figures, the validation ones when it was validated, and its wall time."""

    epoch: int
    lr: float
    train_loss: float
    train_accuracy: float  # on the augmented batches
    train_seconds: float
    images_per_second: float
    threads: int | None = None  # None: written before fit recorded them
    world_size: int | None = None
    device: str | None = None
    validation: Validation | None = None
    epoch_seconds: float | None = None  # training and validation

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EpochRecord:
        own = {k: v for k, v in _known(cls, data).items() if k != "validation"}
        return cls(**own, validation=Validation.from_json(data))

    def to_json(self) -> dict[str, Any]:
        own = _present(self)
        validation = own.pop("validation", None)
        seconds = {"epoch_seconds": own.pop("epoch_seconds")} if "epoch_seconds" in own else {}
        return {**own, **(_present(validation) if validation is not None else {}), **seconds}

    def figure(self, key: str) -> float | None:
        """A figure by its JSON key (e.g. a selection metric: "val_crowd_balanced_accuracy"); None when the
        epoch has none."""
        value = self.to_json().get(key)
        return None if value is None else float(value)


@dataclass(frozen=True)
class BestEpoch:
    """The epoch kept as best.pt: the highest `value` of the figure `metric` so far (epoch 0: none yet)."""

    epoch: int
    metric: str
    value: float

    @classmethod
    def from_json(cls, data: dict[str, Any], metric: str) -> BestEpoch:
        """A checkpoint's best epoch (checkpoints before this form kept the value under "balanced_accuracy",
        whatever `metric` it measured)."""
        if "value" in data:
            return cls(int(data["epoch"]), str(data["metric"]), float(data["value"]))
        return cls(int(data["epoch"]), metric, float(data["balanced_accuracy"]))

    def to_json(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "metric": self.metric, "value": self.value}


@dataclass(frozen=True)
class FitResult:
    """A finished `fit`: where the run is, its history, and the epoch kept as best.pt."""

    out: Path
    history: list[EpochRecord]
    best_epoch: int
    best_score: float
    score_name: str  # what picked best.pt, e.g. "validation balanced accuracy"
    metric: str  # its key in the history, e.g. "val_balanced_accuracy"

    @property
    def final_score(self) -> float:
        """The figure that picks best.pt at the last epoch (validated last on the main process)."""
        score = self.history[-1].figure(self.metric)
        if score is None:
            raise FerError(f"the last epoch of {self.out} has no {self.metric}")
        return score
