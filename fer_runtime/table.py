"""The one results table writer (.csv and .parquet: a row per face; .jsonl: a line per image) that images,
folders and video frames go through. Rows stream into `NAME.partial` as they come and are flushed after
every batch, so a killed run loses at most its last batch; the file takes its real name when the run
completes. `resume=True` continues an interrupted (or finished) table: the files already in it are
skipped. Parquet (with pyarrow, `pip install "fer_runtime[ray]"`) has the CSV's columns, typed; a
Parquet file cut by a kill has no footer and cannot be resumed (one stopped by an error or Ctrl-C can)."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from fer_runtime.detect import LANDMARK_NAMES
from fer_runtime.errors import FerError

TABLE_SUFFIXES = (".csv", ".jsonl", ".parquet")
TEXT_COLUMNS = ("file", "label")
INTEGER_COLUMNS = ("frame", "face", "track", "x", "y", "w", "h")
FRAME_COLUMNS = ("frame", "time_s")  # the columns a video's table has before each image's (`video.run_stream`)
PARTIAL = ".partial"  # suffix of a table still being written
LANDMARK_COLUMNS = [f"{name}_{axis}" for name in LANDMARK_NAMES for axis in "xy"]


def partial_path(path: Path) -> Path:
    return path.with_name(path.name + PARTIAL)


def csv_header(classes: Sequence[str], extra: Sequence[str] = ()) -> list[str]:
    return [
        *extra,
        *("file", "face", "track", "x", "y", "w", "h", "label", "confidence"),
        *classes,
        "detection_score",
        *LANDMARK_COLUMNS,
    ]


def csv_rows(record: dict[str, Any], classes: Sequence[str], extra: Sequence[str]) -> list[list[Any]]:
    """One row per face (an image without faces gets one row with an empty label)."""
    lead = [record.get(k, "") for k in extra]
    if not record["faces"]:
        return [[*lead, record["file"], *[""] * (len(csv_header(classes)) - 1)]]
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


def _kept(path: Path, fmt: str, header: list[str], finished: bool) -> tuple[set[str], bytes]:
    """The files an existing table records and the bytes of it to keep: its complete lines (a killed
    writer may have cut the last one); in an unfinished CSV without the last file's rows, which may be
    incomplete (a file's faces are several rows), so that file is done again."""
    data = path.read_bytes()
    lines = data[: data.rfind(b"\n") + 1].splitlines(keepends=True)
    if fmt == ".jsonl":
        files = set()
        for number, line in enumerate(lines, 1):
            try:
                files.add(json.loads(line)["file"])
            except (json.JSONDecodeError, KeyError, TypeError):
                raise FerError(f"{path}:{number}: not a fer-run JSONL record; cannot resume it") from None
        return files, b"".join(lines)
    if not lines:
        return set(), b""
    if next(csv.reader([lines[0].decode("utf-8")])) != header:
        raise FerError(f"{path}: its columns differ from this run's; cannot resume it")
    column = header.index("file")
    names = [next(csv.reader([line.decode("utf-8")]))[column] for line in lines[1:]]
    last = names[-1] if names and not finished else None
    keep = [line for line, name in zip(lines[1:], names) if name != last]
    return set(names) - {last}, b"".join([lines[0], *keep])


def require_pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise FerError('Parquet tables need pyarrow: pip install "fer_runtime[ray]"') from None
    return pyarrow


def _typed(column: str, values: list[Any]) -> list[Any]:
    if column in TEXT_COLUMNS:
        return [str(v) for v in values]
    kind = int if column in INTEGER_COLUMNS else float
    return [None if v == "" else kind(v) for v in values]


def _parquet_batch(rows: list[list[Any]], header: list[str]) -> Any:
    pa = require_pyarrow()
    columns = {name: _typed(name, [row[i] for row in rows]) for i, name in enumerate(header)}
    schema = pa.schema(
        [
            (n, pa.string() if n in TEXT_COLUMNS else pa.int64() if n in INTEGER_COLUMNS else pa.float64())
            for n in header
        ]
    )
    return pa.table(columns, schema=schema)


def _kept_parquet(path: Path) -> tuple[set[str], Any]:
    """The files and rows of a Parquet table that was closed (finished, or stopped by an exception); a
    killed writer leaves no footer, and such a file cannot be read."""
    pa = require_pyarrow()
    try:
        table = pa.parquet.read_table(path)
    except (pa.ArrowInvalid, OSError):
        raise FerError(f"{path}: a cut Parquet table cannot be resumed (.csv and .jsonl tables can)") from None
    return set(table.column("file").to_pylist()), table


class TableWriter(AbstractContextManager["TableWriter"]):
    """Write records to a .csv, .jsonl or .parquet table, streaming (see the module). `done` holds the files an
    earlier run already wrote when resuming; `count` the records this run wrote."""

    def __init__(
        self, path: str | os.PathLike[str], classes: Sequence[str], extra: Sequence[str] = (), resume: bool = False
    ) -> None:
        self.path = Path(path)
        self.format = self.path.suffix.lower()
        if self.format not in TABLE_SUFFIXES:
            raise FerError(f"{self.path}: a results table must end in {', '.join(TABLE_SUFFIXES)}")
        self.classes, self.extra, self.count = list(classes), list(extra), 0
        self.partial = partial_path(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.header = csv_header(self.classes, self.extra)
        self.done: set[str] = set()
        self._rows: list[list[Any]] = []  # Parquet rows not yet in a row group
        earlier = next((p for p in (self.partial, self.path) if p.exists()), None) if resume else None
        if self.format == ".parquet":
            self._start_parquet(earlier)
            return
        kept = b""
        if earlier is not None:
            self.done, kept = _kept(earlier, self.format, self.header, finished=earlier == self.path)
        self.partial.write_bytes(kept)
        if earlier == self.path:
            self.path.unlink()  # its records are in the partial table now
        self._handle: IO[str] | None = self.partial.open("a", encoding="utf-8", newline="")
        if self.format == ".csv" and not kept:
            csv.writer(self._handle).writerow(self.header)

    def _start_parquet(self, earlier: Path | None) -> None:
        pa = require_pyarrow()
        self._handle = None
        kept = None
        if earlier is not None:
            self.done, kept = _kept_parquet(earlier)
        self._parquet = pa.parquet.ParquetWriter(self.partial, _parquet_batch([], self.header).schema)
        if kept is not None:
            self._parquet.write_table(kept.cast(self._parquet.schema))

    def write(self, record: dict[str, Any]) -> None:
        """Add one image's record (in one write, so its rows stay together)."""
        if self._handle is None:
            self._rows.extend(csv_rows(record, self.classes, self.extra))
        elif self.format == ".csv":
            buffer = io.StringIO()
            csv.writer(buffer).writerows(csv_rows(record, self.classes, self.extra))
            self._handle.write(buffer.getvalue())
        else:
            self._handle.write(json.dumps(record) + "\n")
        self.count += 1

    def flush(self) -> None:
        """Hand what was written to the OS: a kill from here on loses none of it."""
        if self._handle is not None:
            self._handle.flush()
        elif self._rows:
            self._parquet.write_table(_parquet_batch(self._rows, self.header))
            self._rows = []

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._handle is not None:
            self._handle.close()
        else:
            self.flush()  # whole records only, so a stopped run keeps what it made, as the text formats do
            self._parquet.close()
        if kind is None:
            os.replace(self.partial, self.path)
