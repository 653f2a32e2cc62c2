"""`fer-run INPUTS --engine ray`: the same rows as the in-process engine, made by a Ray Data pipeline.

The pipeline is a list of file paths (`ray.data.from_items`) mapped in batches by `FaceLabeler`, a pool
of actors that each hold one `Recognizer` and read, decode, detect and classify their files exactly as
`images.run_images` does. Paths go in rather than bytes, so no file-reading tasks compete with the actors
for CPUs (a pool as large as the machine then deadlocks). The rows come back in input order and go
through the one `table.TableWriter`. Use `FaceLabeler` in your own pipelines:

    ds = ray.data.from_items([{"path": p} for p in paths])
    ds = ds.map_batches(FaceLabeler, batch_size=64, compute=ray.data.ActorPoolStrategy(size=4))
    # columns: path, record (fer-run's JSON record, or ""), error (a one-line error, or "")

Ray is optional (`pip install "fer_runtime[ray]"`) and imported only here, only when used.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from fer_runtime.errors import FerError
from fer_runtime.images import ImageOutcome, ImagesSummary, label_paths
from fer_runtime.recognizer import Recognizer
from fer_runtime.table import TableWriter

BATCH_SIZE = 64


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
    Keyword arguments go to `Recognizer` (`model`, `threads`, `min_confidence`, `detector`, ...), except
    `detect` and `top_k`, which are `run_images`'s."""

    def __init__(self, detect: bool = True, top_k: int | None = None, **recognizer: Any) -> None:
        self.recognizer = Recognizer(**{"threads": 1, **recognizer})
        self.detect, self.top_k = detect, top_k

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outcomes = label_paths(self.recognizer, [Path(str(p)) for p in batch["path"]], self.detect, self.top_k)
        return {
            "path": np.asarray(batch["path"], dtype=object),
            "record": np.array([json.dumps(o.record) if o.record else "" for o in outcomes], dtype=object),
            "error": np.array([o.error or "" for o in outcomes], dtype=object),
        }


def run_ray(
    paths: Sequence[Path],
    output: Path | None = None,
    detect: bool = True,
    top_k: int | None = None,
    on_image: Callable[[ImageOutcome], None] | None = None,
    resume: bool = False,
    address: str | None = None,
    actors: int | None = None,
    batch_size: int = BATCH_SIZE,
    **recognizer: Any,
) -> ImagesSummary:
    """`images.run_images` on Ray: the same outcomes, in the same order, through the same table writer
    (.csv, .jsonl or .parquet). `address` joins a running cluster (default: start a local one);
    `actors` sizes the pool (default: `default_actors`). No annotation: it writes tables."""
    ray = _ray()
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    pool = actors or default_actors(ray.cluster_resources().get("CPU", 1))
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # rows in input order, like the in-process engine
    context.enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # not a line per pipeline start
    classes = Recognizer(**recognizer).classes if output is not None else []
    failures = 0
    table = TableWriter(output, classes, resume=resume) if output is not None else nullcontext(None)
    with table as writer:
        todo = [p for p in paths if str(p) not in writer.done] if writer is not None else list(paths)
        if todo:
            dataset = ray.data.from_items([{"path": str(p)} for p in todo]).map_batches(
                FaceLabeler,
                fn_constructor_kwargs={"detect": detect, "top_k": top_k, **recognizer},
                batch_size=batch_size,
                compute=ray.data.ActorPoolStrategy(size=pool),
                num_cpus=1,
            )
            for index, row in enumerate(dataset.iter_rows(), 1):
                path = Path(row["path"])
                if row["error"]:
                    failures += 1
                    outcome = ImageOutcome(path, None, row["error"])
                else:
                    record = json.loads(row["record"])
                    outcome = ImageOutcome(path, record)
                    if writer is not None:
                        writer.write(record)
                if on_image is not None:
                    on_image(outcome)
                if writer is not None and index % batch_size == 0:
                    writer.flush()
    return ImagesSummary(len(paths), failures, writer.count if writer is not None else 0, len(paths) - len(todo))
