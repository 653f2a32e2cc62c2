"""Per-image results as records, their text and JSON forms, and the one table writer (.csv / .jsonl)
that images, folders and video frames all go through."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from fer_runtime.atomic import atomic_path
from fer_runtime.detect import LANDMARK_NAMES
from fer_runtime.errors import FerError
from fer_runtime.recognizer import Face

TABLE_SUFFIXES = (".csv", ".jsonl")
LANDMARK_COLUMNS = [f"{name}_{axis}" for name in LANDMARK_NAMES for axis in "xy"]


def face_record(face: Face, top_k: int | None = None) -> dict[str, Any]:
    """A face as JSON: box, label, confidence, scores; the detector's score and landmarks when it gave
    them ({name: [x, y]}); the track number in video."""
    scores = face.top(top_k) if top_k else list(face.scores.items())
    record: dict[str, Any] = {
        "box": list(face.box),
        "label": face.label,
        "confidence": round(face.confidence, 6),
        "scores": {k: round(v, 6) for k, v in scores},
    }
    if face.detection_score is not None:
        record["detection_score"] = round(face.detection_score, 4)
    if face.landmarks is not None:
        record["landmarks"] = {n: [round(x, 1), round(y, 1)] for n, (x, y) in zip(LANDMARK_NAMES, face.landmarks)}
    if face.track is not None:
        record["track"] = face.track
    return record


def image_record(name: str, faces: Sequence[Face], top_k: int | None = None) -> dict[str, Any]:
    return {"file": name, "faces": [face_record(f, top_k) for f in faces]}


def format_faces(record: dict[str, Any]) -> list[str]:
    """One line per face: box, label, confidence and the other classes' scores."""
    lines = []
    for i, face in enumerate(record["faces"]):
        x, y, w, h = face["box"]
        others = ", ".join(f"{k} {v:.2f}" for k, v in face["scores"].items() if k != face["label"])
        name = f"track {face['track']}" if "track" in face else f"face {i}"
        lines.append(
            f"{name}  box {x},{y},{w}x{h}  {face['label']:<9} {face['confidence']:.2f}"
            + (f"   ({others})" if others else "")
        )
    return lines or ["no face found"]


def format_record(record: dict[str, Any]) -> str:
    """A small table for an image: its name, then a line per face."""
    return "\n".join([record["file"], *(f"  {line}" for line in format_faces(record))])


def _csv_header(classes: Sequence[str], extra: Sequence[str]) -> list[str]:
    return [
        *extra,
        "file",
        "face",
        "track",
        "x",
        "y",
        "w",
        "h",
        "label",
        "confidence",
        *classes,
        "detection_score",
        *LANDMARK_COLUMNS,
    ]


def _csv_rows(record: dict[str, Any], classes: Sequence[str], extra: Sequence[str]) -> list[list[Any]]:
    """One row per face (an image without faces gets one row with an empty label)."""
    lead = [record.get(k, "") for k in extra]
    if not record["faces"]:
        return [[*lead, record["file"], *[""] * (len(_csv_header(classes, ())) - 1)]]
    return [
        [
            *lead,
            record["file"],
            i,
            face.get("track", ""),
            *face["box"],
            face["label"],
            f"{face['confidence']:.6f}",
            *(f"{face['scores'][c]:.6f}" if c in face["scores"] else "" for c in classes),
            face.get("detection_score", ""),
            *(
                [v for point in face["landmarks"].values() for v in point]
                if "landmarks" in face
                else [""] * len(LANDMARK_COLUMNS)
            ),
        ]
        for i, face in enumerate(record["faces"])
    ]


class TableWriter(AbstractContextManager["TableWriter"]):
    """Writes records to a .csv (a row per face) or .jsonl (a line per image) file as they come, in a
    temporary file that takes the target's name only when the writer closes without an error."""

    def __init__(self, path: str | os.PathLike[str], classes: Sequence[str], extra: Sequence[str] = ()) -> None:
        self.path = Path(path)
        self.format = self.path.suffix.lower()
        if self.format not in TABLE_SUFFIXES:
            raise FerError(f"{self.path}: a results table must end in {' or '.join(TABLE_SUFFIXES)}")
        self.classes, self.extra, self.count = list(classes), list(extra), 0
        self._atomic = atomic_path(self.path)
        self._handle: IO[str] = self._atomic.__enter__().open("w", encoding="utf-8", newline="")
        self._csv = csv.writer(self._handle) if self.format == ".csv" else None
        if self._csv is not None:
            self._csv.writerow(_csv_header(self.classes, self.extra))

    def write(self, record: dict[str, Any]) -> None:
        if self._csv is not None:
            self._csv.writerows(_csv_rows(record, self.classes, self.extra))
        else:
            self._handle.write(json.dumps(record) + "\n")
        self.count += 1

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._handle.close()
        self._atomic.__exit__(kind, error, trace)
