"""`fer-train eval`."""

from __future__ import annotations

from pathlib import Path

import click

from fer_runtime.cli_options import prior_option, tta_option
from fer_train.cli import user_errors, votes_option
from fer_train.evaluate import evaluate


@click.command("eval")
@click.option(
    "--model",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A checkpoint (best.pt or last.pt), an exported .onnx graph, or face-api's expression net (its weights manifest).",
)
@click.option("--data", required=True, type=click.Path(exists=True), help="Test data: folder or .zip.")
@votes_option()
@click.option("--out", type=click.Path(file_okay=False), help="Write metrics.json, metrics.txt, confusion.png here.")
@prior_option("An exported model's probabilities under this prior (default: the model's choice); see fer-run --help.")
@tta_option("An exported model's probabilities averaged with its mirrored faces' ('flip'); see fer-run --help.")
@click.option("--cache-dir", type=click.Path(file_okay=False))
@user_errors
def eval_command(
    model: str, data: str, votes: str | None, out: str | None, prior: str | None, tta: str, cache_dir: str | None
) -> None:
    """Accuracy, balanced accuracy, per-class recall and confusion matrix of a model; with --votes, FER+'s
    majority rule on every face, and against the raters' majority, KL, Brier, ECE and accuracy on the faces
    it is surest of."""
    result = evaluate(model, data, out, cache_dir, votes, prior=prior, tta=tta)
    click.echo(result.text(title=f"{Path(data).name}"))
    if out:
        click.echo(f"written to {out}")
