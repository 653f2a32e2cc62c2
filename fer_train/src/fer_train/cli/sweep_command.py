"""`fer-train sweep`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from fer_train.analysis.sweep import parse_grid, run_sweep
from fer_train.cli import user_errors
from fer_train.config import FitConfig, merge_options


@click.command("sweep")
@click.option(
    "--data",
    type=click.Path(exists=True),
    help="Training data (or `data` in --config), e.g. ../shared/data/seed/Train_400.zip.",
)
@click.option(
    "--val",
    type=click.Path(exists=True),
    help="Validation data that scores each run (or `val` in --config), e.g. ../shared/data/fer2013/val.zip.",
)
@click.option(
    "--grid",
    "grid_items",
    required=True,
    multiple=True,
    metavar="KEY=V1,V2",
    help="A factor and its values; repeat. Keys: FitConfig fields (optimizer, lr, schedule, batch_size, "
    "weight_decay, model, ...), augment.FIELD, or model options (kernel_size, pooling, "
    "activation_fn, conv_dropout, head_dropout for seed_cnn).",
)
@click.option("--epochs", default=10, show_default=True, type=click.IntRange(min=1), help="Epoch budget per run.")
@click.option("--val-every", type=click.IntRange(min=1), help="Validate every N epochs (default 1) to save time.")
@click.option("--out", required=True, type=click.Path(file_okay=False))
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    help="TOML base configuration (as for fit); the grid overrides it.",
)
@click.option("--model", help="Base model (default seed_cnn).")
@click.option("--classes", help="Comma-separated classes (default angry,happy,neutral,sad).")
@click.option("--seeds", default=1, show_default=True, type=click.IntRange(min=1), help="Repeats per configuration.")
@click.option(
    "--one-at-a-time", is_flag=True, help="Vary one factor at a time around the baseline (each factor's first value)."
)
@click.option("--threads", type=click.IntRange(min=1), help="Torch threads per run.")
@click.option("--cache-dir", type=click.Path(file_okay=False))
@user_errors
def sweep_command(
    grid_items: tuple[str, ...], config_file: str | None, seeds: int, one_at_a_time: bool, **options: Any
) -> None:
    """Train a grid of configurations with a fixed epoch budget; results.csv, summary.md, plots."""
    base = FitConfig.from_dict(merge_options(config_file, options))
    rows = run_sweep(base, parse_grid(grid_items), base.out, seeds=seeds, one_at_a_time=one_at_a_time)
    click.echo(f"{len(rows)} runs; table: {Path(base.out) / 'summary.md'}")
