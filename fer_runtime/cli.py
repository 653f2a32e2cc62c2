"""`fer-run`: classify the emotions of faces in images, folders, videos or a webcam."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fer_runtime import __version__

if TYPE_CHECKING:
    from fer_runtime.recognizer import Recognizer


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("inputs", nargs=-1)
@click.option("--model", "model_path", type=click.Path(dir_okay=False),
              help="An exported .onnx graph (default: the bundled model).")
@click.option("--fp32", is_flag=True, help="Use the bundled model's float graph instead of its int8 one.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: one object per input (a list for several).")
@click.option("--top-k", type=click.IntRange(min=1), help="Report only the K most likely classes per face.")
@click.option("--no-detect", is_flag=True, help="Treat every image as one face crop (no face detection).")
@click.option("--annotate", type=click.Path(), help="Draw boxes and labels: a .png for one image, a folder for several.")
@click.option("--output", type=click.Path(dir_okay=False),
              help="Write results to .csv or .jsonl; with --video/--webcam also .mp4/.avi (annotated video).")
@click.option("--video", type=click.Path(dir_okay=False), help="Label every frame of a video file.")
@click.option("--webcam", type=int, help="Label frames from webcam N (stop with q or Ctrl-C).")
@click.option("--max-frames", type=click.IntRange(min=1), help="Stop a video or webcam after N frames.")
@click.option("--threads", type=click.IntRange(min=1), help="ONNX Runtime intra-op threads (default: all cores).")
@click.version_option(__version__, prog_name="fer-run")
def main(inputs: tuple[str, ...], model_path: str | None, fp32: bool, as_json: bool, top_k: int | None,
         no_detect: bool, annotate: str | None, output: str | None, video: str | None, webcam: int | None,
         max_frames: int | None, threads: int | None) -> None:
    """Find faces in INPUTS (images, folders or glob patterns) and print their emotions."""
    from fer_runtime.errors import FerError

    if not inputs and video is None and webcam is None:
        raise click.UsageError("give at least one image, folder or pattern, or --video / --webcam")
    if (video is not None or webcam is not None) and inputs:
        raise click.UsageError("--video/--webcam take no image inputs")
    try:
        from fer_runtime.recognizer import Recognizer

        recognizer = Recognizer(model_path, threads=threads, prefer_int8=not fp32)
        source = video if video is not None else webcam
        if source is not None:
            _stream(recognizer, source, output, not no_detect, top_k, max_frames, as_json)
            return
        failures, total = _images(recognizer, inputs, output, annotate, not no_detect, top_k, as_json)
    except FerError as exc:
        _fail(str(exc))
        sys.exit(1)
    if failures:
        if total > 1:
            _fail(f"{failures} of {total} inputs could not be processed")
        sys.exit(1)


def _images(recognizer: Recognizer, inputs: tuple[str, ...], output: str | None, annotate: str | None, detect: bool,
            top_k: int | None, as_json: bool) -> tuple[int, int]:
    """Classify each image; returns (failed inputs, all inputs)."""
    from fer_runtime.annotate import draw_faces
    from fer_runtime.atomic import atomic_path, write_text
    from fer_runtime.errors import FerError
    from fer_runtime.inputs import expand_inputs, read_image
    from fer_runtime.results import format_record, image_record, to_csv, to_jsonl

    import cv2

    if output is not None and Path(output).suffix.lower() not in (".csv", ".jsonl"):
        raise FerError(f"{output}: --output must end in .csv or .jsonl for images")
    paths = expand_inputs(inputs)
    if not paths:
        raise FerError(f"no images found in {', '.join(inputs)}")
    annotate_dir = Path(annotate) if annotate and (len(paths) > 1 or Path(annotate).is_dir()) else None
    records: list[dict[str, Any]] = []
    failures = 0
    quiet = output is not None and len(paths) > 1
    with click.progressbar(paths, label="classifying", file=sys.stderr,
                           hidden=len(paths) < 2 or not sys.stderr.isatty()) as bar:
        for path in bar:
            try:
                image = read_image(path)
                faces = recognizer.analyze(image, detect=detect)
            except FerError as exc:
                _fail(str(exc) if str(path) in str(exc) else f"{path}: {exc}")
                failures += 1
                continue
            record = image_record(str(path), faces, top_k)
            records.append(record)
            if annotate:
                target = annotate_dir / f"{path.stem}.annotated.png" if annotate_dir else Path(annotate)
                with atomic_path(target) as tmp:
                    if not cv2.imwrite(str(tmp), draw_faces(image, faces, recognizer.classes)):
                        raise FerError(f"{target}: cannot write an image with this suffix")
            if not as_json and not quiet:
                click.echo(format_record(record))
    if as_json:
        click.echo(json.dumps(records[0] if len(paths) == 1 and records else records, indent=2))
    if output is not None:
        text = to_csv(records, recognizer.classes) if output.lower().endswith(".csv") else to_jsonl(records)
        write_text(output, text)
        click.echo(f"wrote {len(records)} result(s) to {output}", err=True)
    return failures, len(paths)


def _stream(recognizer: Recognizer, source: str | int, output: str | None, detect: bool, top_k: int | None,
            max_frames: int | None, as_json: bool) -> None:
    from fer_runtime.video import can_show, run_stream

    def report(record: dict[str, Any]) -> None:
        if as_json:
            click.echo(json.dumps(record))
            return
        faces = "; ".join(f"{f['label']} {f['scores'][f['label']]:.2f} @ {','.join(map(str, f['box']))}"
                          for f in record["faces"]) or "no face"
        click.echo(f"frame {record['frame']:>5}  {record['time_s']:8.2f}s  {faces}")

    records = run_stream(recognizer, source, Path(output) if output else None, detect, top_k, max_frames,
                         show=can_show(), on_frame=report)
    if output:
        click.echo(f"wrote {len(records)} frame(s) to {output}", err=True)
