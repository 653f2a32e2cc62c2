"""The one declared data root: `$FER_SHARED_DATA`, else `../shared/data` (from the working directory, as the
configs and the README write it). Runs, exports and reports record a path under it relative to it
(`$FER_SHARED_DATA/fer2013/train.zip`), so a checkpoint or a model description made on one machine finds its
data on another, from any working directory; the trainer, the benchmarks and the tests read the root from here.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "FER_SHARED_DATA"
DEFAULT_ROOT = "../shared/data"
MARK = f"${ENV}/"  # how a recorded path says "under the data root"


def data_root() -> Path:
    return Path(os.environ.get(ENV) or DEFAULT_ROOT)


def record(path: str | os.PathLike[str]) -> str:
    """`path` as runs and descriptions record it: relative to the data root when under it, else as given."""
    given = Path(path)
    try:
        inside = given.resolve().relative_to(data_root().resolve())
    except (ValueError, OSError):
        return str(path)
    return MARK + inside.as_posix()


def locate(recorded: str | os.PathLike[str]) -> Path:
    """Where a recorded or configured path is here: `$FER_SHARED_DATA/...` under the data root; a path that exists
    as given; `../shared/data/...` (as the configs and older records write it) under the data root."""
    text = str(recorded)
    if text.startswith(MARK):
        return data_root() / text[len(MARK) :]
    given = Path(text)
    if given.exists() or not text.startswith(DEFAULT_ROOT + "/"):
        return given
    return data_root() / text[len(DEFAULT_ROOT) + 1 :]


def existing(recorded: str | None) -> str | None:
    """`locate(recorded)` when it is here, else None (and None for None)."""
    if not recorded:
        return None
    path = locate(recorded)
    return str(path) if path.exists() else None
