"""Per-image results as records and their text form (tables of them: `table.TableWriter`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fer_runtime.detect import LANDMARK_NAMES
from fer_runtime.recognizer import Face


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
