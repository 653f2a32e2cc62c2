"""`fer-train compare`."""

from __future__ import annotations

from pathlib import Path

import click

from fer_train.analysis.compare import run_compare
from fer_train.cli import user_errors


@click.command("compare")
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for compare.md and PNGs.")
@click.option("--name", "names", multiple=True, help="Label for each run, in order (default: folder names).")
@user_errors
def compare_command(runs: tuple[str, ...], out: str, names: tuple[str, ...]) -> None:
    """Ablation table and curves of training runs: recipe differences, best val. score, per-class recall."""
    for run in run_compare(runs, out, names):
        epoch, best = run.best
        crowd = best.val_crowd_balanced_accuracy
        click.echo(
            f"{run.name}: val balanced accuracy {best.val_balanced_accuracy:.4f}"
            + (f", against the raters {crowd:.4f}" if crowd is not None else "")
            + f" at epoch {epoch}{'' if run.finished else ' (still running)'}"
        )
    click.echo(f"comparison: {Path(out) / 'compare.md'}")
