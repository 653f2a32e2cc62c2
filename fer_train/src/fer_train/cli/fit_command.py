"""`fer-train fit`."""

from __future__ import annotations

from typing import Any

import click

from fer_train.cli import user_errors, votes_option
from fer_train.config import (
    CLASS_WEIGHTS,
    DEVICES,
    DISTILL_VIEWS,
    LABELS,
    OFF_CLASS,
    OPTIMIZERS,
    PRECISIONS,
    SAMPLINGS,
    SCHEDULES,
    SELECT_ON,
    FitConfig,
    merge_options,
)
from fer_train.distributed import end_process, world_from_env
from fer_train.train import fit


@click.command("fit")
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    help="TOML file with any of the options below (or a run's config.json); options given on the command line win.",
)
@click.option("--data", type=click.Path(exists=True), help="Training data: a folder or .zip, one folder per class.")
@click.option("--val", type=click.Path(exists=True), help="Validation data used to pick best.pt.")
@click.option("--out", type=click.Path(file_okay=False), help="Run folder, e.g. runs/NAME.")
@click.option("--model", help="Model name from the registry (default seed_cnn).")
@click.option("--classes", help="Comma-separated classes (default angry,happy,neutral,sad).")
@click.option("--epochs", type=click.IntRange(min=1))
@click.option("--batch-size", type=click.IntRange(min=1))
@click.option("--optimizer", type=click.Choice(OPTIMIZERS))
@click.option("--lr", type=click.FloatRange(min=0, min_open=True))
@click.option("--schedule", type=click.Choice(SCHEDULES))
@click.option("--warmup-epochs", type=click.FloatRange(min=0))
@click.option("--weight-decay", type=click.FloatRange(min=0))
@click.option("--label-smoothing", type=click.FloatRange(0, 1))
@click.option("--val-every", type=click.IntRange(min=1), help="Validate every N epochs (default 1).")
@click.option("--mixup-alpha", type=click.FloatRange(min=0), help="Mixup strength (0: off).")
@click.option(
    "--cutmix-alpha",
    type=click.FloatRange(min=0),
    help="CutMix strength (0: off; with mixup on, each batch uses one of the two).",
)
@click.option(
    "--teacher",
    "teachers",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Distil from this checkpoint or exported float graph (NAME.onnx beside NAME.json; repeat for an ensemble).",
)
@click.option("--distill-weight", type=click.FloatRange(0, 1), help="Share of the distillation loss (default 0.5).")
@click.option("--distill-temperature", type=click.FloatRange(min=0, min_open=True))
@click.option(
    "--distill-views",
    type=click.Choice(DISTILL_VIEWS),
    help="clean (default): the teachers' predictions for the unaugmented faces, computed once; "
    "augmented: the teachers predict on every batch as the student sees it (slower).",
)
@votes_option(
    "Crowd votes per face: a CSV with a `file` column and one column per class (counts or shares); "
    "targets mix them with the folder labels, and validation also scores against them."
)
@click.option(
    "--vote-weight",
    type=click.FloatRange(0, 1),
    help="Target = W * votes + (1 - W) * folder label (default 1: votes only).",
)
@click.option(
    "--vote-off-class",
    type=click.Choice(OFF_CLASS),
    help="drop (default): leave out training faces whose raters mostly chose an answer outside the classes.",
)
@click.option(
    "--select-on",
    type=click.Choice(SELECT_ON),
    help="Pick best.pt on the original labels' balanced accuracy (default), the raters' majority's (crowd), or "
    "top-1 against FER+'s majority on every validation face (ferplus).",
)
@click.option(
    "--labels",
    type=click.Choice(LABELS),
    help="Where a face's class comes from: its folder (default) or FER+'s majority of its votes (votes; a class "
    "may then have no folder, e.g. contempt).",
)
@click.option(
    "--precision",
    type=click.Choice(PRECISIONS),
    help="bf16: train in bfloat16 autocast (its speed-up on this CPU: `python -m benchmarks`).",
)
@click.option(
    "--class-weights",
    type=click.Choice(CLASS_WEIGHTS),
    help="balanced: weigh each class by its inverse frequency in the targets; halfway: by its inverse root.",
)
@click.option(
    "--sampling",
    type=click.Choice(SAMPLINGS),
    help="balanced: draw every class equally often in each epoch (default shuffle: each image once).",
)
@click.option("--seed", type=int)
@click.option("--threads", type=click.IntRange(min=1), help="Torch intra-op threads (default: all cores).")
@click.option(
    "--device",
    type=click.Choice(DEVICES),
    help="Where to train: auto (default; a CUDA GPU when PyTorch sees one, else the CPU), cpu or cuda. "
    "Checkpoints load on any machine. Several processes: torchrun --nproc-per-node N -m fer_train fit ...",
)
@click.option("--cache-dir", type=click.Path(file_okay=False), help="Decoded-image cache (default ~/.cache/fer).")
@click.option("--resume", is_flag=True, help="Continue from OUT/last.pt (a larger --epochs extends the run).")
@click.option("--no-progress", is_flag=True, help="No progress bars (one log line per epoch remains).")
@user_errors
def fit_command(config_file: str | None, resume: bool, no_progress: bool, **options: Any) -> None:
    """Train a model; checkpoints go to OUT/last.pt (every epoch) and OUT/best.pt."""
    config = FitConfig.from_dict(merge_options(config_file, options))
    result = fit(config, resume=resume, progress=not no_progress)
    click.echo(
        f"best {result.score_name} {result.best_score:.4f} at epoch {result.best_epoch}; checkpoints in {result.out}"
    )
    end_process(world_from_env())
