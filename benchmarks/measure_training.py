"""Training speed of the shipped recipe: `fit` itself for one epoch, float32 against bfloat16 autocast."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from fer_train.config_file import read_config_file
from fer_train.train import PRECISIONS, FitConfig, fit

FER2013_TRAIN_IMAGES = 21_005  # the four default classes of fer2013/train.zip


def training_speed(config_file: Path, data: Path, work: Path, threads: int = 2) -> dict[str, Any]:
    """Images/s of one training epoch over `data` (no validation) per precision, and what that makes of
    the recipe's full run over FER2013 train."""
    recipe = FitConfig(**{**read_config_file(str(config_file)), "out": str(work), "data": str(data)})
    one_epoch = replace(recipe, val=None, epochs=1, threads=threads, cache_dir=str(work / "cache"))
    speed = {}
    for precision in PRECISIONS:
        run = fit(replace(one_epoch, precision=precision, out=str(work / f"train_{precision}")), progress=False)
        per_s = run.history[0]["images_per_second"]
        speed[precision] = {"images_per_s": per_s, "full_run_min": recipe.epochs * FER2013_TRAIN_IMAGES / per_s / 60}
    return {"config": config_file.name, "recipe_precision": recipe.precision, "data": data.name, "threads": threads,
            "epochs": recipe.epochs, "speed": speed}
