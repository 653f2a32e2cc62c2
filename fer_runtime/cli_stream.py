"""`fer-run --video/--webcam` and `--summarize`: a stream labelled frame by frame, its frames printed as they
come, and the per-person summary (`timeline`) of the frames or of a table an earlier run wrote."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from fer_runtime.cli_engines import RunOptions
    from fer_runtime.recognizer import Recognizer
    from fer_runtime.timeline import VideoSummary


def _write(summary: VideoSummary, prefix: str) -> None:
    from fer_runtime.timeline_plot import write_summary

    paths = write_summary(summary, prefix)
    people = len(summary.people)
    click.echo(
        f"wrote the summary of {people} {'person' if people == 1 else 'people'} to {', '.join(map(str, paths))}",
        err=True,
    )


def run_stream_command(
    recognizer: Recognizer,
    source: str | int,
    run: RunOptions,
    *,
    as_json: bool,
    summary: str | None,
    max_frames: int | None,
    smooth: float,
) -> None:
    """Label a video or webcam frame by frame (`video.run_stream`); with `summary`, PREFIX.json/.md/.png of what
    was read, also when the video ends early (cut or corrupt)."""
    from fer_runtime.results import format_faces
    from fer_runtime.timeline import TimelineBuilder
    from fer_runtime.video import can_show, run_stream

    builder = TimelineBuilder(recognizer.classes) if summary is not None else None

    def report(record: dict[str, Any]) -> None:
        if builder is not None:
            builder.add(record)
        if as_json:
            click.echo(json.dumps(record))
        else:
            click.echo(f"frame {record['frame']:>5}  {record['time_s']:8.2f}s  " + "; ".join(format_faces(record)))

    try:
        frames = run_stream(
            recognizer,
            source,
            output=run.output,
            detect=run.detect,
            top_k=run.top_k,
            max_frames=max_frames,
            show=can_show(),
            on_frame=report,
            smooth=smooth,
        )
    finally:
        if summary is not None and builder is not None and builder.frames:
            _write(builder.summary(), summary)
    if run.output is not None:
        click.echo(f"wrote {frames} frame(s) to {run.output}", err=True)


def summarize_command(table: str, summary: str | None) -> None:
    """The summary of a frames table (.csv, .jsonl, .parquet): printed as Markdown, and with `summary` written."""
    from fer_runtime.frames_table import read_frames
    from fer_runtime.timeline import format_markdown, summarize

    classes, frames = read_frames(table)  # a JSONL table without faces names no classes: an empty summary
    result = summarize(frames, classes)
    click.echo(format_markdown(result))
    if summary is not None:
        _write(result, summary)
