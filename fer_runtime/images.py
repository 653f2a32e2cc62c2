"""Label image files, folders and glob patterns: the library side of `fer-run INPUTS` (video and webcam
frames go through `video.run_stream`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fer_runtime.annotate import draw_faces
from fer_runtime.atomic import atomic_path
from fer_runtime.defaults import BATCH_SIZE
from fer_runtime.driver import Engine, ImageOutcome, ImagesSummary, drive
from fer_runtime.errors import FerError
from fer_runtime.inputs import read_image
from fer_runtime.recognizer import Face, Recognizer
from fer_runtime.results import image_record


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


@dataclass(frozen=True)
class _Labelled:
    """A file with its image and faces, or with why it has none."""

    path: Path
    image: np.ndarray | None = None
    faces: list[Face] | None = None
    error: str | None = None

    def outcome(self, top_k: int | None) -> ImageOutcome:
        if self.faces is None:
            return ImageOutcome(self.path, None, self.error)
        return ImageOutcome(self.path, image_record(str(self.path), self.faces, top_k))


def _labelled(recognizer: Recognizer, batch: Decoded, detect: bool) -> list[_Labelled]:
    """Each decoded file with its faces, or the error that stopped it."""
    images = [image for _, image in batch if not isinstance(image, FerError)]
    analyzed = iter(_analyze(recognizer, images, detect))
    results = []
    for path, image in batch:
        if isinstance(image, FerError):
            results.append(_Labelled(path, error=_error(path, image)))
            continue
        faces = next(analyzed)
        if isinstance(faces, FerError):
            results.append(_Labelled(path, error=_error(path, faces)))
        else:
            results.append(_Labelled(path, image, faces))
    return results


def label_paths(
    recognizer: Recognizer, paths: Sequence[Path], detect: bool = True, top_k: int | None = None
) -> list[ImageOutcome]:
    """The outcome of each file, as `run_images` makes it (what the Ray engine's actors run)."""
    return [item.outcome(top_k) for item in _labelled(recognizer, _decode_all(paths), detect)]


def local_engine(
    recognizer: Recognizer,
    *,
    detect: bool = True,
    top_k: int | None = None,
    annotate: Path | None = None,
    many: bool = False,
    batch_size: int = BATCH_SIZE,
) -> Engine:
    """This process as `driver.drive`'s engine: files decoded a batch ahead on a thread, the faces of
    `batch_size` images classified in one call, boxes and labels drawn into `annotate` (a .png, or with
    `many` a folder of them)."""

    def batches(todo: Sequence[Path]) -> Iterator[list[ImageOutcome]]:
        for batch in _decoded_batches(todo, batch_size):
            labelled = _labelled(recognizer, batch, detect)
            if annotate is not None:
                for item in labelled:
                    if item.image is not None and item.faces is not None:
                        target = _annotation_target(annotate, item.path, many)
                        _annotate(target, item.image, item.faces, recognizer.classes)
            yield [item.outcome(top_k) for item in labelled]

    return batches


def _annotate(target: Path, image: np.ndarray, faces: list[Face], classes: list[str]) -> None:
    with atomic_path(target) as tmp:
        if not cv2.imwrite(str(tmp), draw_faces(image, faces, classes)):
            raise FerError(f"{target}: cannot write an image with this suffix")


def run_images(
    recognizer: Recognizer,
    paths: Sequence[Path],
    *,
    output: Path | None = None,
    annotate: Path | None = None,
    detect: bool = True,
    top_k: int | None = None,
    on_image: Callable[[ImageOutcome], None] | None = None,
    resume: bool = False,
    batch_size: int = BATCH_SIZE,
) -> ImagesSummary:
    """Find and classify the faces of every image at `paths` (see `inputs.expand_inputs`), in order.

    Images are decoded a batch ahead on a thread and their faces classified `batch_size` images at a
    time. A file that cannot be read or decoded is an outcome with an error, not an exception. With
    `output` (.csv, .jsonl or .parquet) records stream into the table (`driver.drive`); with `resume`, files
    an earlier run already wrote there are skipped. With `annotate`, boxes and labels are drawn into a
    .png (one input) or a folder of them (several inputs, or an existing folder).
    """
    many = annotate is not None and (len(paths) > 1 or annotate.is_dir())
    engine = local_engine(recognizer, detect=detect, top_k=top_k, annotate=annotate, many=many, batch_size=batch_size)
    return drive(paths, engine, classes=recognizer.classes, output=output, on_image=on_image, resume=resume)
