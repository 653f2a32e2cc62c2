"""`fer-train report`."""

from __future__ import annotations

from pathlib import Path

import click

from fer_train.analysis.report import run_report
from fer_train.cli import user_errors, votes_option


@click.command("report")
@click.option(
    "--model",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A checkpoint (.pt) or an exported graph (.onnx).",
)
@click.option(
    "--data",
    "paths",
    required=True,
    multiple=True,
    type=click.Path(exists=True),
    help="A test split (folder or .zip); repeat for several.",
)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for report.md, report.json, PNGs.")
@click.option(
    "--train",
    type=click.Path(exists=True),
    help="The training set (folder or .zip): also report each split without its near copies of it.",
)
@votes_option()
@click.option("--no-face-images", is_flag=True, help="Skip the grid of confidently wrong faces.")
@click.option("--threads", type=click.IntRange(min=1), help="ONNX Runtime threads for an .onnx model.")
@click.option("--cache-dir", type=click.Path(file_okay=False))
@user_errors
def report_command(
    model: str,
    paths: tuple[str, ...],
    out: str,
    train: str | None,
    votes: str | None,
    no_face_images: bool,
    threads: int | None,
    cache_dir: str | None,
) -> None:
    """Accuracy with bootstrap intervals, per-class P/R/F1, confusion, calibration, worst errors."""
    report = run_report(
        model,
        paths,
        out,
        face_images=not no_face_images,
        cache_dir=cache_dir,
        threads=threads,
        train=train,
        votes=votes,
    )
    for split in report["splits"]:
        low, high = split["intervals_95"]["balanced_accuracy"]
        click.echo(
            f"{split['name']}: {split['n']} images, accuracy {split['accuracy']:.3f}, balanced accuracy "
            f"{split['balanced_accuracy']:.3f} (95% CI {low:.3f}–{high:.3f}), ECE {split['ece']:.3f}"
            + (
                f"; against the raters: balanced accuracy {split['crowd']['majority']['balanced_accuracy']:.3f}, "
                f"KL {split['crowd']['kl']:.3f}, ECE {split['crowd']['ece']:.3f}"
                if split["crowd"]
                else ""
            )
        )
    click.echo(f"report: {Path(out) / 'report.md'}")
