"""Training speed of the shipped recipe: `fit` itself for one epoch, float32 against bfloat16 autocast."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

from benchmarks.training_runs import PrecisionSpeed, TorchrunEpoch, TrainingSpeed
from fer_runtime.atomic import write_text
from fer_runtime.errors import FerError
from fer_train.config import PRECISIONS, FitConfig, read_config_file
from fer_train.data import image_counts
from fer_train.train import fit


def training_speed(config_file: Path, data: Path, full_data: Path, work: Path, threads: int = 2) -> TrainingSpeed:
    """Images/s of one training epoch over `data` (no validation, no teachers) per precision, and what that makes
    of the recipe's full run over `full_data` (its training set: the recipe's classes are counted there)."""
    recipe = FitConfig.from_dict({**read_config_file(str(config_file)), "out": str(work), "data": str(data)})
    per_class = image_counts(full_data)
    missing = [name for name in recipe.classes if name not in per_class]
    if missing:  # counting them as 0 would project a full run that is too short
        raise FerError(f"{full_data} has no folder for the recipe's class(es) {', '.join(missing)}")
    full_images = sum(per_class[name] for name in recipe.classes)
    one_epoch = replace(  # teachers left out: their answers on the clean faces are computed once, not per epoch
        recipe, val=None, select_on="original", epochs=1, threads=threads, cache_dir=str(work / "cache"), teachers=()
    )
    speed = {}
    for precision in PRECISIONS:
        run = fit(replace(one_epoch, precision=precision, out=str(work / f"train_{precision}")), progress=False)
        per_s = run.history[0].images_per_second
        speed[precision] = PrecisionSpeed(images_per_s=per_s, full_run_min=recipe.epochs * full_images / per_s / 60)
    processes = {str(n): _torchrun_epoch(one_epoch, n, threads, work / f"torchrun_{n}") for n in (1, 2)}
    return TrainingSpeed(
        config=config_file.name,
        recipe_precision=recipe.precision,
        data=data.name,
        threads=threads,
        epochs=recipe.epochs,
        full_data=full_data.name,
        full_images=full_images,
        speed=speed,
        torchrun=processes,
    )


def _torchrun_epoch(config: FitConfig, processes: int, threads: int, out: Path) -> TorchrunEpoch:
    """Images/s of one epoch under `torchrun` with `processes` processes sharing `threads` threads."""
    torchrun = shutil.which("torchrun")
    if torchrun is None:
        raise FerError("torchrun is not on PATH (it comes with torch)")
    threads_each = max(1, threads // processes)
    each = replace(config, out=str(out), threads=threads_each)
    config_file = out.parent / f"{out.name}.json"
    write_text(config_file, json.dumps(each.to_dict()))
    subprocess.run(
        [torchrun, "--standalone", "--nproc-per-node", str(processes), "-m", "fer_train", "-q", "fit"]
        + ["--config", str(config_file), "--no-progress"],
        check=True,
        capture_output=True,
    )
    record = json.loads((out / "metrics.json").read_text())[0]
    return TorchrunEpoch(
        images_per_s=record["images_per_second"], threads_each=threads_each, batch_each=each.batch_size
    )
