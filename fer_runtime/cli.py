"""`fer-run`: classify the emotions of faces in images, folders, videos or a webcam.

A thin parser over `images.run_images` and `video.run_stream`; the heavy imports (OpenCV, ONNX
Runtime) happen only once there is work, so `fer-run --version` answers at once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fer_runtime import __version__
from fer_runtime.cli_engines import Labeler, RunOptions, labeler
from fer_runtime.cli_errors import report_error, user_errors
from fer_runtime.cli_options import prior_option, provider_option, request_option, tta_option
from fer_runtime.cli_usage import check_summary, check_usage
from fer_runtime.defaults import BATCH_SIZE, DETECT_SIZE, DETECTORS, MIN_DETECT_SIZE, SMOOTH, prior_choices_help
from fer_runtime.request_options import DETECT_THRESHOLD_OPTION, MIN_CONFIDENCE, NO_DETECT, TOP_K

if TYPE_CHECKING:
    from fer_runtime.driver import ImageOutcome


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("inputs", nargs=-1)
@click.option(
    "--model",
    "model_path",
    type=click.Path(dir_okay=False),
    help="An exported .onnx graph (default: the bundled model).",
)
@click.option("--fp32", is_flag=True, help="Use the bundled model's float graph instead of its int8 one.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: one object per input (a list for several).")
@request_option(TOP_K)
@request_option(MIN_CONFIDENCE)
@prior_option("What the scores mean (default: the model's choice, in its card): " + prior_choices_help())
@tta_option(
    "Test-time augmentation: 'flip' averages each face's scores with its mirror image's (the model runs "
    "twice; what it buys is in the model table of the README)."
)
@request_option(NO_DETECT)
@click.option(
    "--detector",
    type=click.Choice(DETECTORS),
    default=DETECTORS[0],
    show_default=True,
    help="Face detector for photos: the bundled YuNet model (boxes, scores, five landmarks) or OpenCV's Haar cascade.",
)
@request_option(DETECT_THRESHOLD_OPTION)
@click.option(
    "--detect-size",
    type=click.IntRange(min=MIN_DETECT_SIZE),
    default=DETECT_SIZE,
    show_default=True,
    help="Photos are shrunk to this longest side (pixels) before detection.",
)
@click.option(
    "--smooth",
    type=click.FloatRange(0, 1, max_open=True),
    default=SMOOTH,
    show_default=True,
    help="Video: weight of a tracked face's past scores in each frame's (an exponential moving average); 0 turns it off.",
)
@click.option(
    "--annotate", type=click.Path(), help="Draw boxes and labels: a .png for one image, a folder for several."
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    help="Write results to .csv, .jsonl or .parquet (with pyarrow); with --video/--webcam also .mp4/.avi "
    "(annotated video).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the --output table of an interrupted run (NAME.partial) or a finished one: files already "
    "in it are skipped, each file appears once.",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help='Where images are labelled: this process, or a Ray Data pipeline (pip install "fer_runtime[ray]").',
)
@click.option("--address", help="--engine ray: the Ray cluster to join (default: start a local one).")
@click.option("--actors", type=click.IntRange(min=1), help="--engine ray: recognizer actors (default: CPUs - 1).")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=BATCH_SIZE,
    show_default=True,
    help="Images labelled per batch.",
)
@click.option("--video", type=click.Path(dir_okay=False), help="Label every frame of a video file.")
@click.option("--webcam", type=int, help="Label frames from webcam N (stop with q or Ctrl-C).")
@click.option("--max-frames", type=click.IntRange(min=1), help="Stop a video or webcam after N frames.")
@click.option(
    "--summary",
    type=click.Path(dir_okay=False),
    help="With --video/--webcam or --summarize: per person, the share of time in each emotion, the longest "
    "stretches and the changes, written as SUMMARY.json, .md and .png (a timeline).",
)
@click.option(
    "--summarize",
    type=click.Path(dir_okay=False),
    help="Summarise a frames table an earlier --video run wrote (.csv, .jsonl, .parquet); no model is loaded.",
)
@click.option("--threads", type=click.IntRange(min=1), help="ONNX Runtime intra-op threads (default: all cores).")
@provider_option(
    "ONNX Runtime execution provider, e.g. cpu, cuda, tensorrt, openvino (full names too; repeatable, in order of preference; default: cpu). Face detection stays on OpenCV."
)
@click.version_option(__version__, prog_name="fer-run")
@user_errors
def main(
    inputs: tuple[str, ...],
    model_path: str | None,
    fp32: bool,
    as_json: bool,
    top_k: int | None,
    min_confidence: float,
    prior: str | None,
    tta: str,
    no_detect: bool,
    detector: str,
    detect_threshold: float,
    detect_size: int,
    smooth: float,
    annotate: str | None,
    output: str | None,
    resume: bool,
    engine: str,
    address: str | None,
    actors: int | None,
    batch_size: int,
    video: str | None,
    webcam: int | None,
    max_frames: int | None,
    summary: str | None,
    summarize: str | None,
    threads: int | None,
    providers: tuple[str, ...],
) -> None:
    """Find faces in INPUTS (images, folders or glob patterns) and print their emotions."""
    stream = video if video is not None else webcam
    check_summary(inputs, stream, summarize, summary)
    if summarize is not None:
        return _summarize(summarize, summary)
    check_usage(
        inputs, stream, resume=resume, output=output, fp32=fp32, model_path=model_path, engine=engine, annotate=annotate
    )
    from fer_runtime.recognizer import Recognizer

    recognizer = Recognizer(  # checks the model and options before any work
        model=model_path,
        threads=threads,
        providers=providers,
        prefer_int8=not fp32,
        min_confidence=min_confidence,
        detector=detector,
        detect_threshold=detect_threshold,
        detect_size=detect_size,
        prior=prior,
        tta=tta,
    )
    run = RunOptions(output=_path(output), detect=not no_detect, top_k=top_k, resume=resume, batch_size=batch_size)
    if stream is not None:
        from fer_runtime.cli_stream import run_stream_command

        return run_stream_command(
            recognizer, stream, run, as_json=as_json, summary=summary, max_frames=max_frames, smooth=smooth
        )
    _images(
        inputs, output, as_json, labeler(engine, recognizer, run, address=address, actors=actors, annotate=annotate)
    )


def _summarize(table: str, summary: str | None) -> None:
    from fer_runtime.cli_stream import summarize_command

    summarize_command(table, summary)


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _images(inputs: tuple[str, ...], output: str | None, as_json: bool, label: Labeler) -> None:
    from fer_runtime.errors import FerError
    from fer_runtime.inputs import expand_inputs
    from fer_runtime.results import format_record

    paths = expand_inputs(inputs)
    if not paths:
        raise FerError(f"no images found in {', '.join(inputs)}")
    records: list[dict[str, Any]] = []
    quiet = output is not None and len(paths) > 1
    with click.progressbar(
        length=len(paths), label="classifying", file=sys.stderr, hidden=len(paths) < 2 or not sys.stderr.isatty()
    ) as bar:

        def show(outcome: ImageOutcome) -> None:
            bar.update(1)
            if outcome.record is None:
                report_error(str(outcome.error))
            elif as_json:
                records.append(outcome.record)
            elif not quiet:
                click.echo(format_record(outcome.record))

        summary = label(paths, show)
    if as_json:
        click.echo(json.dumps(records[0] if len(paths) == 1 and records else records, indent=2))
    if output is not None:
        kept = f" (kept {summary.skipped} from the earlier run)" if summary.skipped else ""
        click.echo(f"wrote {summary.written} result(s) to {output}{kept}", err=True)
    if summary.failures:
        if summary.total > 1:
            report_error(f"{summary.failures} of {summary.total} inputs could not be processed")
        sys.exit(1)


if __name__ == "__main__":
    main()
