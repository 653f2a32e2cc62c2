"""Label image files, folders and glob patterns: the library side of `fer-run INPUTS` (video and webcam
frames go through `video.run_stream`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from fer_runtime.annotate import draw_faces
from fer_runtime.atomic import atomic_path
from fer_runtime.errors import FerError
from fer_runtime.inputs import read_image
from fer_runtime.recognizer import Face, Recognizer
from fer_runtime.results import image_record
from fer_runtime.table import TableWriter


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
    written: int  # records this run added to the output table
    skipped: int = 0  # files an earlier run had already written (resume)


def _annotation_target(annotate: Path, path: Path, many: bool) -> Path:
    return annotate / f"{path.stem}.annotated.png" if many else annotate


def _decode(path: Path) -> np.ndarray | FerError:
    try:
        return read_image(path)
    except FerError as exc:
        return exc


def _decoded_batches(paths: Sequence[Path], size: int) -> Iterator[list[tuple[Path, np.ndarray | FerError]]]:
    """`paths` in batches of `size`, decoded on a thread one batch ahead of the caller (OpenCV releases
    the GIL while it decodes)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        batches = [paths[i : i + size] for i in range(0, len(paths), size)]
        pending = pool.submit(lambda b: [(p, _decode(p)) for p in b], batches[0]) if batches else None
        for following in [*batches[1:], None]:
            assert pending is not None
            current = pending.result()
            pending = pool.submit(lambda b: [(p, _decode(p)) for p in b], following) if following else None
            yield current


def _analyze(recognizer: Recognizer, images: list[np.ndarray], detect: bool) -> list[list[Face] | FerError]:
    """Faces of each image, one classifier batch for all; an image that fails alone is its own error."""
    try:
        return list(recognizer.analyze_many(images, detect))
    except FerError:
        results: list[list[Face] | FerError] = []
        for image in images:
            try:
                results.append(recognizer.analyze(image, detect))
            except FerError as exc:
                results.append(exc)
        return results


def _error(path: Path, error: FerError) -> str:
    return str(error) if str(path) in str(error) else f"{path}: {error}"


def run_images(
    recognizer: Recognizer,
    paths: Sequence[Path],
    output: Path | None = None,
    annotate: Path | None = None,
    detect: bool = True,
    top_k: int | None = None,
    on_image: Callable[[ImageOutcome], None] | None = None,
    resume: bool = False,
    batch_size: int = 64,
) -> ImagesSummary:
    """Find and classify the faces of every image at `paths` (see `inputs.expand_inputs`), in order.

    Images are decoded a batch ahead on a thread and their faces classified `batch_size` images at a
    time. A file that cannot be read or decoded is an outcome with an error, not an exception. With
    `output` (.csv or .jsonl) records stream into the table (`table.TableWriter`); with `resume`, files
    an earlier run already wrote there are skipped. With `annotate`, boxes and labels are drawn into a
    .png (one input) or a folder of them (several inputs, or an existing folder).
    """
    many = annotate is not None and (len(paths) > 1 or annotate.is_dir())
    failures = 0
    table = TableWriter(output, recognizer.classes, resume=resume) if output is not None else nullcontext(None)
    with table as writer:
        todo = [p for p in paths if str(p) not in writer.done] if writer is not None else list(paths)
        for batch in _decoded_batches(todo, batch_size):
            images = [image for _, image in batch if not isinstance(image, FerError)]
            analyzed = iter(_analyze(recognizer, images, detect))
            for path, image in batch:
                faces = image if isinstance(image, FerError) else next(analyzed)
                if isinstance(faces, FerError):
                    failures += 1
                    if on_image is not None:
                        on_image(ImageOutcome(path, None, _error(path, faces)))
                    continue
                record = image_record(str(path), faces, top_k)
                if writer is not None:
                    writer.write(record)
                if annotate is not None:
                    assert isinstance(image, np.ndarray)
                    target = _annotation_target(annotate, path, many)
                    with atomic_path(target) as tmp:
                        if not cv2.imwrite(str(tmp), draw_faces(image, faces, recognizer.classes)):
                            raise FerError(f"{target}: cannot write an image with this suffix")
                if on_image is not None:
                    on_image(ImageOutcome(path, record))
            if writer is not None:
                writer.flush()
    skipped = len(paths) - len(todo)
    return ImagesSummary(len(paths), failures, writer.count if writer is not None else 0, skipped)
