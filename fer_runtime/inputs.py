"""Expand command-line inputs (files, folders, glob patterns) and read images from disk."""

from __future__ import annotations

import glob
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from fer_runtime.errors import FerError
from fer_runtime.preprocess import decode_image

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".tif", ".tiff", ".webp", ".gif"}


def expand_inputs(items: Iterable[str]) -> list[Path]:
    """Files as given; folders → their image files (recursive, sorted); patterns → their matches.

    A path that does not exist and matches nothing is returned as is, so the caller reports it.
    """
    paths: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            paths.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES))
        elif not path.exists() and glob.has_magic(item):
            paths.extend(sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file()))
        else:
            paths.append(path)
    return paths


def read_image(path: Path) -> np.ndarray:
    """Decode an image file, keeping its depth and channels; FerError names the file."""
    if not path.exists():
        raise FerError(f"{path}: no such file")
    if not path.is_file():
        raise FerError(f"{path}: not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FerError(f"{path}: cannot read ({exc.strerror})") from None
    return decode_image(data, str(path))
