"""`fer-train eval`."""

from __future__ import annotations

from pathlib import Path

import click

from fer_train.cli import user_errors
from fer_train.evaluate import evaluate_checkpoint
from fer_train.metrics import format_table


@click.command("eval")
@click.option("--model", "checkpoint", required=True, type=click.Path(exists=True, dir_okay=False),
              help="A checkpoint (best.pt or last.pt).")
@click.option("--data", required=True, type=click.Path(exists=True), help="Test data: folder or .zip.")
@click.option("--out", type=click.Path(file_okay=False), help="Write metrics.json, metrics.txt, confusion.png here.")
@click.option("--cache-dir", type=click.Path(file_okay=False))
@user_errors
def eval_command(checkpoint: str, data: str, out: str | None, cache_dir: str | None) -> None:
    """Accuracy, balanced accuracy, per-class recall and confusion matrix of a checkpoint."""
    result = evaluate_checkpoint(checkpoint, data, out, cache_dir)
    click.echo(format_table(result.metrics, title=f"{Path(data).name}"))
    if out:
        click.echo(f"written to {out}")
