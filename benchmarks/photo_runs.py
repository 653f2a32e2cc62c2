"""The photo part's records: `DetectorRun` (one detector over the pasted photos) and `VideoRate` (one detector
timed on one clip), written by benchmarks/measure_photos.py and read by benchmarks/report_photos.py. In a result's
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
