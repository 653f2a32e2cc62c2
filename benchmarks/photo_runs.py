"""The photo part's records: `DetectorRun` (one detector over the pasted photos), `VideoRate` (one detector
timed on one clip), `Alignment` (the crop policy, a `TiltRow` per tilt) and `SizeSweep` (YuNet at one
`--detect-size`), written by benchmarks/measure_photos.py and benchmarks/measure_detect_size.py and read by
benchmarks/report_photos.py. In a result's
JSON each is its fields as they are, so results written before the records existed read the same."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.records import JsonRecord


@dataclass(frozen=True)
class DetectorRun(JsonRecord):
    """Recall, false positives and the per-photo time split (medians, milliseconds) of one detector."""

    detector: str
    photos: int
    faces_pasted: int
    faces_found: int
    false_positives: int
    decode_ms: float
    detect_ms: float
    crop_ms: float
    infer_ms: float
    photos_per_s: float  # end to end, from the mean photo

    @property
    def recall(self) -> float:
        return self.faces_found / self.faces_pasted

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "recall": self.recall}


@dataclass(frozen=True)
class VideoRate(JsonRecord):
    """Frames/s of detect + classify + track on one clip, and the tracks it made."""

    video: str
    frames: int
    frames_per_s: float
    tracks: int


@dataclass(frozen=True)
class TiltRow(JsonRecord):
    """The pasted faces of one tilt that YuNet found: how often each crop agrees with the model's answer on the
    untouched face, and each crop's balanced accuracy on the labels."""

    faces: int
    box_agreement: float
    box_balanced_accuracy: float
    aligned_agreement: float
    aligned_balanced_accuracy: float


@dataclass(frozen=True)
class Alignment:
    """The crop policy: a box and margin against the aligned crop (on `template`), per tilt in degrees."""

    template: list[float]
    faces: int
    by_angle: dict[str, TiltRow]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "by_angle": {angle: row.to_json() for angle, row in self.by_angle.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Alignment:
        by_angle = {angle: TiltRow.from_json(row) for angle, row in data["by_angle"].items()}
        return cls(template=data["template"], faces=data["faces"], by_angle=by_angle)


@dataclass(frozen=True)
class SizeSweep(JsonRecord):
    """YuNet at one `--detect-size` on one scene's pasted photos: recall, faces, false positives, median ms."""

    size: int
    recall: float
    faces: int
    false_positives: int
    detect_ms: float
