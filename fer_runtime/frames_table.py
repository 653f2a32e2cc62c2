"""Read back a table `fer-run --video ... --output` wrote (.csv, .jsonl or Ray's and fer-run's .parquet) as
frame records, one at a time, so that a long run can be summarised later or on another machine."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from itertools import groupby
from pathlib import Path
from typing import Any

from fer_runtime.errors import FerError
from fer_runtime.table import FRAME_COLUMNS, TABLE_SUFFIXES, require_pyarrow


def _classes(header: list[str], path: Path) -> list[str]:
    """The class columns: between `confidence` and `detection_score`."""
    missing = [c for c in (*FRAME_COLUMNS, "track", "label", "confidence", "detection_score") if c not in header]
    if missing:
        raise FerError(f"{path}: not a fer-run video table (no column {', '.join(missing)})")
    return header[header.index("confidence") + 1 : header.index("detection_score")]


def _record(rows: list[dict[str, Any]], classes: list[str]) -> dict[str, Any]:
    faces = [
        {"track": int(row["track"]), "label": row["label"], "scores": {c: float(row[c]) for c in classes}}
        for row in rows
        if row["label"] not in ("", None) and row["track"] not in ("", None)
    ]
    return {"frame": int(rows[0]["frame"]), "time_s": float(rows[0]["time_s"]), "faces": faces}


def _rows(path: Path) -> tuple[list[str], Iterator[dict[str, Any]]]:
    """The column names and the rows, read as they are used (the file stays closed until then)."""
    if path.suffix.lower() == ".parquet":
        parquet = require_pyarrow().parquet.ParquetFile(path)
        return parquet.schema_arrow.names, (row for batch in parquet.iter_batches() for row in batch.to_pylist())
    with path.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle), [])

    def rows() -> Iterator[dict[str, Any]]:
        with path.open(encoding="utf-8", newline="") as handle:
            yield from csv.DictReader(handle)

    return header, rows()


def read_frames(path: str | Path) -> tuple[list[str], Iterator[dict[str, Any]]]:
    """The table's classes and its frame records in order (JSONL lines are records already)."""
    path = Path(path)
    if not path.is_file():
        raise FerError(f"{path}: no such file")
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise FerError(f"{path}: a frames table ends in {', '.join(TABLE_SUFFIXES)}")
    if path.suffix.lower() == ".jsonl":
        return _jsonl(path)
    header, rows = _rows(path)
    classes = _classes(header, path)
    frames = (_record(list(group), classes) for _, group in groupby(rows, key=lambda row: row["frame"]))
    return classes, frames


def _jsonl(path: Path) -> tuple[list[str], Iterator[dict[str, Any]]]:
    def records() -> Iterator[dict[str, Any]]:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                try:
                    record = json.loads(line)
                    record["time_s"], record["faces"]
                except (json.JSONDecodeError, KeyError, TypeError):
                    raise FerError(f"{path}:{number}: not a fer-run video record") from None
                yield record

    first = next(records(), None)
    faces = first["faces"] if first else []
    classes = list(faces[0]["scores"]) if faces else []
    if first is not None and not classes:  # the classes come from the first frame with a face
        classes = next((list(r["faces"][0]["scores"]) for r in records() if r["faces"]), [])
    return classes, records()
