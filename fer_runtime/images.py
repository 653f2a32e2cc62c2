"""Label image files, folders and glob patterns: the library side of `fer-run INPUTS` (video and webcam
frames go through `video.run_stream`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from fer_runtime.annotate import draw_faces
from fer_runtime.atomic import atomic_path
from fer_runtime.errors import FerError
from fer_runtime.inputs import read_image
from fer_runtime.recognizer import Recognizer
from fer_runtime.results import TableWriter, image_record


@dataclass(frozen=True)
class ImageOutcome:
    """One input file: its record (file and faces), or the one-line error that stopped it."""

    path: Path
    record: dict[str, Any] | None
    error: str | None = None


@dataclass(frozen=True)
class ImagesSummary:
    total: int
    failures: int
    written: int  # records in the output table


def _annotation_target(annotate: Path, path: Path, many: bool) -> Path:
    return annotate / f"{path.stem}.annotated.png" if many else annotate


def run_images(
    recognizer: Recognizer,
    paths: Sequence[Path],
    output: Path | None = None,
    annotate: Path | None = None,
    detect: bool = True,
    top_k: int | None = None,
    on_image: Callable[[ImageOutcome], None] | None = None,
) -> ImagesSummary:
    """Find and classify the faces of every image at `paths` (see `inputs.expand_inputs`), in order.

    A file that cannot be read or decoded is an outcome with an error, not an exception. With `output`
    (.csv or .jsonl) every record goes to that table; with `annotate`, boxes and labels are drawn into a
    .png (one input) or a folder of them (several inputs, or an existing folder).
    """
    many = annotate is not None and (len(paths) > 1 or annotate.is_dir())
    failures = 0
    table = TableWriter(output, recognizer.classes) if output is not None else nullcontext(None)
    with table as writer:
        for path in paths:
            try:
                image = read_image(path)
                faces = recognizer.analyze(image, detect=detect)
            except FerError as exc:
                failures += 1
                message = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
                if on_image is not None:
                    on_image(ImageOutcome(path, None, message))
                continue
            record = image_record(str(path), faces, top_k)
            if writer is not None:
                writer.write(record)
            if annotate is not None:
                target = _annotation_target(annotate, path, many)
                with atomic_path(target) as tmp:
                    if not cv2.imwrite(str(tmp), draw_faces(image, faces, recognizer.classes)):
                        raise FerError(f"{target}: cannot write an image with this suffix")
            if on_image is not None:
                on_image(ImageOutcome(path, record))
    return ImagesSummary(len(paths), failures, writer.count if writer is not None else 0)
