"""`fer-run INPUTS --engine ray`: the same rows as the in-process engine, made by a Ray Data pipeline.

The pipeline is a list of file paths (`ray.data.from_items`) mapped in batches by `FaceLabeler`, a pool
of actors that each hold one `Recognizer` and read, decode, detect and classify their files exactly as
`images.run_images` does. Paths go in rather than bytes, so no file-reading tasks compete with the actors
for CPUs (a pool as large as the machine then deadlocks). The rows come back in input order and go
through the one run driver (`driver.drive`) and table writer. Use `FaceLabeler` in your own pipelines:

    ds = ray.data.from_items([{"path": p} for p in paths])
    settings = RecognizerSettings(min_confidence=0.5)  # what each actor's Recognizer is made with
    ds = ds.map_batches(FaceLabeler, fn_constructor_kwargs={"settings": settings}, batch_size=64,
                        compute=ray.data.ActorPoolStrategy(size=4))
    # columns: path, record (fer-run's JSON record, or ""), error (a one-line error, or "")

Ray is optional (`pip install "fer_runtime[ray]"`) and imported only here, only when used.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from fer_runtime.defaults import BATCH_SIZE
from fer_runtime.driver import Engine, ImageOutcome, ImagesSummary, drive
from fer_runtime.errors import FerError
from fer_runtime.images import label_paths
from fer_runtime.recognizer import Recognizer
from fer_runtime.recognizer_settings import RecognizerSettings


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise FerError('the Ray engine needs Ray: pip install "fer_runtime[ray]"') from None
    return ray


def default_actors(cpus: float) -> int:
    """Actors for a cluster of `cpus` CPUs: one per CPU but one, which stays free for Ray Data's own tasks
    and the driver (at least one actor)."""
    return max(1, int(cpus) - 1)


class FaceLabeler:
    """A callable class for `ray.data.Dataset.map_batches`: a batch with a `path` column → the same paths
    with `record` (the JSON of fer-run's record for the file, or "") and `error` (its error, or "").
    Each actor's `Recognizer` is made from `settings` (default: the bundled model), on one thread unless
    they name more; `detect` and `top_k` are `run_images`'s."""

    def __init__(
        self, settings: RecognizerSettings | None = None, detect: bool = True, top_k: int | None = None
    ) -> None:
        settings = settings or RecognizerSettings()
        self.recognizer = Recognizer.from_settings(replace(settings, threads=settings.threads or 1))
        self.detect, self.top_k = detect, top_k

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outcomes = label_paths(self.recognizer, [Path(str(p)) for p in batch["path"]], self.detect, self.top_k)
        return {
            "path": np.asarray(batch["path"], dtype=object),
            "record": np.array([json.dumps(o.record) if o.record else "" for o in outcomes], dtype=object),
            "error": np.array([o.error or "" for o in outcomes], dtype=object),
        }


def ray_engine(
    *,
    detect: bool = True,
    top_k: int | None = None,
    address: str | None = None,
    actors: int | None = None,
    batch_size: int = BATCH_SIZE,
    settings: RecognizerSettings | None = None,
) -> Engine:
    """A Ray Data pipeline as `driver.drive`'s engine: `FaceLabeler` actors (`actors`, default
    `default_actors`; each a `Recognizer` made from `settings`) map the files in batches of `batch_size`.
    `address` joins a running cluster (default: start a local one)."""

    def batches(todo: Sequence[Path]) -> Iterator[list[ImageOutcome]]:
        ray = _ray()
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # rows in input order, like the in-process engine
        context.enable_progress_bars = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)  # not a line per pipeline start
        dataset = ray.data.from_items([{"path": str(p)} for p in todo]).map_batches(
            FaceLabeler,
            fn_constructor_kwargs={"settings": settings, "detect": detect, "top_k": top_k},
            batch_size=batch_size,
            compute=ray.data.ActorPoolStrategy(size=actors or default_actors(ray.cluster_resources().get("CPU", 1))),
            num_cpus=1,
        )
        batch: list[ImageOutcome] = []
        for row in dataset.iter_rows():
            record = json.loads(row["record"]) if row["record"] else None
            batch.append(ImageOutcome(Path(row["path"]), record, row["error"] or None))
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    return batches


def run_ray(
    paths: Sequence[Path],
    *,
    output: Path | None = None,
    detect: bool = True,
    top_k: int | None = None,
    on_image: Callable[[ImageOutcome], None] | None = None,
    resume: bool = False,
    address: str | None = None,
    actors: int | None = None,
    batch_size: int = BATCH_SIZE,
    classes: Sequence[str] | None = None,
    settings: RecognizerSettings | None = None,
) -> ImagesSummary:
    """`images.run_images` on Ray: the same outcomes, in the same order, through the same driver and table
    writer. Each actor's `Recognizer` is made from `settings`; `classes` (the model's, for the table's
    columns) saves building one here. No annotation: it writes tables."""
    settings = settings or RecognizerSettings()
    if classes is None:
        classes = Recognizer.from_settings(settings).classes if output is not None else []
    engine = ray_engine(
        detect=detect, top_k=top_k, address=address, actors=actors, batch_size=batch_size, settings=settings
    )
    return drive(paths, engine, classes=classes, output=output, on_image=on_image, resume=resume)
