"""`fer-run`'s two engines over a list of image paths, as the command line sets them up: in this process
(`images.run_images`) or on Ray (`ray_engine.run_ray`, whose actors build their own recognizers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fer_runtime.driver import ImageOutcome, ImagesSummary
    from fer_runtime.recognizer import Recognizer

Labeler = Callable[[list[Path], Callable[["ImageOutcome"], None]], "ImagesSummary"]


@dataclass(frozen=True)
class RunOptions:
    """What a run of fer-run takes from the command line: both engines all of it, a stream `output`, `detect` and
    `top_k` (frames come one at a time, and --resume is refused with a stream)."""

    output: Path | None
    detect: bool
    top_k: int | None
    resume: bool
    batch_size: int


def labeler(
    engine: str,
    recognizer: Recognizer,
    run: RunOptions,
    *,
    address: str | None,
    actors: int | None,
    annotate: str | None,
) -> Labeler:
    """The engine's run over a list of paths: in this process, or on Ray (which builds its own recognizers)."""
    if engine == "ray":
        from fer_runtime.ray_engine import run_ray

        return lambda paths, on_image: run_ray(
            paths,
            on_image=on_image,
            output=run.output,
            detect=run.detect,
            top_k=run.top_k,
            resume=run.resume,
            batch_size=run.batch_size,
            address=address,
            actors=actors,
            classes=recognizer.classes,
            settings=recognizer.settings,
        )
    from fer_runtime.images import run_images

    return lambda paths, on_image: run_images(
        recognizer,
        paths,
        on_image=on_image,
        output=run.output,
        detect=run.detect,
        top_k=run.top_k,
        resume=run.resume,
        batch_size=run.batch_size,
        annotate=Path(annotate) if annotate else None,
    )
