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


Decoded = list[tuple[Path, np.ndarray | FerError]]  # files with their image or why it could not be read


def _decode(path: Path) -> np.ndarray | FerError:
    try:
        return read_image(path)
    except FerError as exc:
        return exc


def _decode_all(paths: Sequence[Path]) -> Decoded:
    return [(p, _decode(p)) for p in paths]


def _decoded_batches(paths: Sequence[Path], size: int) -> Iterator[Decoded]:
    """`paths` in batches of `size`, decoded on a thread one batch ahead of the caller (OpenCV releases
    the GIL while it decodes)."""
    batches = [paths[i : i + size] for i in range(0, len(paths), size)]
    if not batches:
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(_decode_all, batches[0])
        for following in [*batches[1:], None]:
            current = pending.result()
            if following is not None:
                pending = pool.submit(_decode_all, following)
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


def _labelled(
    recognizer: Recognizer, batch: Decoded, detect: bool
) -> list[tuple[Path, np.ndarray, list[Face]] | ImageOutcome]:
    """Each decoded file with its faces, or the outcome that carries its error."""
    images = [image for _, image in batch if not isinstance(image, FerError)]
    analyzed = iter(_analyze(recognizer, images, detect))
    results: list[tuple[Path, np.ndarray, list[Face]] | ImageOutcome] = []
    for path, image in batch:
        if isinstance(image, FerError):
            results.append(ImageOutcome(path, None, _error(path, image)))
            continue
        faces = next(analyzed)
        if isinstance(faces, FerError):
            results.append(ImageOutcome(path, None, _error(path, faces)))
        else:
            results.append((path, image, faces))
    return results


def label_paths(
    recognizer: Recognizer, paths: Sequence[Path], detect: bool = True, top_k: int | None = None
) -> list[ImageOutcome]:
    """The outcome of each file, as `run_images` makes it (what the Ray engine's actors run)."""
    return [
        item if isinstance(item, ImageOutcome) else ImageOutcome(item[0], image_record(str(item[0]), item[2], top_k))
        for item in _labelled(recognizer, _decode_all(paths), detect)
    ]


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
            for item in _labelled(recognizer, batch, detect):
                if isinstance(item, ImageOutcome):
                    failures += 1
                    if on_image is not None:
                        on_image(item)
                    continue
                path, image, faces = item
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
            if writer is not None:
                writer.flush()
    skipped = len(paths) - len(todo)
    return ImagesSummary(len(paths), failures, writer.count if writer is not None else 0, skipped)
