"""`fer-train eda`."""

from __future__ import annotations

from pathlib import Path

import click

from fer_train.analysis.duplicates import BLANK_MAX_STD, NEAR_MAX_BITS
from fer_train.analysis.eda import run_eda
from fer_train.cli import user_errors
from fer_train.data import parse_classes


@click.command("eda")
@click.option(
    "--data",
    "paths",
    required=True,
    multiple=True,
    type=click.Path(exists=True),
    help="A dataset (folder or .zip); repeat to compare splits, e.g. train and test.",
)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for PNGs, report.md, eda.json.")
@click.option("--classes", default="angry,happy,neutral,sad", show_default=True)
@click.option(
    "--near-bits",
    default=NEAR_MAX_BITS,
    show_default=True,
    type=click.IntRange(0, 64),
    help="Perceptual-hash distance (of 64 bits) at or below which two faces are near duplicates.",
)
@click.option(
    "--blank-std",
    default=BLANK_MAX_STD,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Images whose gray-level std is at most this count as blank.",
)
@click.option(
    "--no-face-images",
    is_flag=True,
    help="Skip figures made of faces (sample grids, mean faces), e.g. for a report to publish.",
)
@click.option("--cache-dir", type=click.Path(file_okay=False))
@user_errors
def eda_command(
    paths: tuple[str, ...],
    out: str,
    classes: str,
    near_bits: int,
    blank_std: float,
    no_face_images: bool,
    cache_dir: str | None,
) -> None:
    """Class balance, intensities, brightness/contrast, mean faces, blank images and duplicates."""
    report = run_eda(
        paths,
        out,
        parse_classes(classes),
        cache_dir,
        face_images=not no_face_images,
        near_max_bits=near_bits,
        blank_max_std=blank_std,
    )
    for split in report.splits:
        counts = ", ".join(f"{k} {v}" for k, v in split.counts.items())
        click.echo(
            f"{split.name}: {split.images} images ({counts}); blank {split.blank.count}; "
            f"near-duplicate pairs inside {split.duplicates.near_duplicate_pairs}"
        )
    for cross in report.across:
        click.echo(
            f"{cross.second} images with a near duplicate in {cross.first}: {cross.near.second} "
            f"(exact copies: {cross.exact.second})"
        )
    click.echo(f"report: {Path(out) / 'report.md'}")
