"""fer-run's options that do not go together: click's usage error (exit status 2), before any work."""

from __future__ import annotations

import click


def check_usage(
    inputs: tuple[str, ...],
    stream: str | int | None,
    *,
    resume: bool,
    output: str | None,
    fp32: bool,
    model_path: str | None,
    engine: str,
    annotate: str | None,
) -> None:
    """Options that do not go together: click's usage error (exit status 2)."""
    if not inputs and stream is None:
        raise click.UsageError("give at least one image, folder or pattern, or --video / --webcam")
    if stream is not None and inputs:
        raise click.UsageError("--video/--webcam take no image inputs")
    if resume and (output is None or stream is not None):
        raise click.UsageError("--resume continues an --output table of images")
    if fp32 and model_path is not None:
        raise click.UsageError("--fp32 picks the bundled model's float graph; with --model, name the graph to run")
    if engine == "ray" and (stream is not None or annotate is not None):
        raise click.UsageError("--engine ray labels images into tables; use the local engine for video and --annotate")


def check_summary(
    inputs: tuple[str, ...], stream: str | int | None, summarize: str | None, summary: str | None
) -> None:
    """--summarize and --summary: what they take (nothing to check when neither is given)."""
    if summarize is None and summary is None:
        return
    if summarize is not None and (inputs or stream is not None):
        raise click.UsageError("--summarize reads a frames table; it takes no images, --video or --webcam")
    if summarize is None and stream is None:
        raise click.UsageError("--summary summarises a --video or --webcam run, or a --summarize table")
