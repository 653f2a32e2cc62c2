"""Per-image results as records, and their text, JSON, CSV and JSONL forms."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from fer_runtime.recognizer import Face


def face_record(face: Face, top_k: int | None = None) -> dict[str, Any]:
    scores = face.top(top_k) if top_k else list(face.scores.items())
    return {"box": list(face.box), "label": face.label, "scores": {k: round(v, 6) for k, v in scores}}


def image_record(name: str, faces: Sequence[Face], top_k: int | None = None) -> dict[str, Any]:
    return {"file": name, "faces": [face_record(f, top_k) for f in faces]}


def format_record(record: dict[str, Any]) -> str:
    """A small table: one row per face with box, label, confidence and other top scores."""
    lines = [record["file"]]
    if not record["faces"]:
        lines.append("  no face found")
    for i, face in enumerate(record["faces"]):
        x, y, w, h = face["box"]
        others = ", ".join(f"{k} {v:.2f}" for k, v in list(face["scores"].items()) if k != face["label"])
        lines.append(f"  face {i}  box {x},{y},{w}x{h}  {face['label']:<9} {face['scores'][face['label']]:.2f}"
                     + (f"   ({others})" if others else ""))
    return "\n".join(lines)


def to_jsonl(records: Sequence[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def to_csv(records: Sequence[dict[str, Any]], classes: Sequence[str], extra: Sequence[str] = ()) -> str:
    """One row per face (an image without faces gets one row with an empty label)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*extra, "file", "face", "x", "y", "w", "h", "label", "confidence", *classes])
    for record in records:
        lead = [record.get(k, "") for k in extra]
        if not record["faces"]:
            writer.writerow([*lead, record["file"], "", "", "", "", "", "", "", *([""] * len(classes))])
        for i, face in enumerate(record["faces"]):
            scores = face["scores"]
            writer.writerow([*lead, record["file"], i, *face["box"], face["label"], f"{scores[face['label']]:.6f}",
                             *(f"{scores[c]:.6f}" if c in scores else "" for c in classes)])
    return buffer.getvalue()
