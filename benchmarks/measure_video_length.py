"""Time and memory over a long video: the shared clip looped to 30 minutes, labelled as `fer-run --video CLIP
--output frames.csv --summary S` labels it (frames table and summary included), in this process; at 1, 10 and
30 minutes of video, the frames per second over the minute before and the resident and peak memory."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from benchmarks.part import run_heading
from benchmarks.records import JsonRecord
from fer_runtime.markdown import goal_table, markdown_table
from fer_runtime.recognizer import Recognizer
from fer_runtime.timeline import TimelineBuilder
from fer_runtime.timeline_plot import write_summary
from fer_runtime.video import run_stream

MARKS_MIN = (1.0, 10.0, 30.0)


@dataclass(frozen=True)
class VideoMark(JsonRecord):
    """At `minutes` of video: frames/s over the minute before, resident and peak memory (MB)."""

    minutes: float
    frames_per_s: float
    rss_mb: float
    peak_rss_mb: float


def looped_clip(source: Path, target: Path, minutes: float) -> tuple[int, float]:
    """`source` repeated into `target` (.mp4) until it lasts `minutes`: its frame count and frame rate."""
    capture = cv2.VideoCapture(str(source))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    frames = []
    while (read := capture.read())[0]:
        frames.append(read[1])
    capture.release()
    total = round(minutes * 60 * fps)
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter.fourcc(*"mp4v"), fps, frames[0].shape[1::-1])
    for i in range(total):
        writer.write(frames[i % len(frames)])
    writer.release()
    return total, fps


def _memory_mb() -> tuple[float, float]:
    """This process's resident memory now and at its peak (Linux /proc)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def video_length_benchmark(photos: Path, work: Path, marks_min: tuple[float, ...] = MARKS_MIN) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    clip = work / "looped.mp4"
    total, fps = looped_clip(photos / "woman2.mp4", clip, max(marks_min))
    Path("/proc/self/clear_refs").write_text("5")  # the peak so far was the clip's making: count from here
    recognizer = Recognizer()
    builder = TimelineBuilder(recognizer.classes)
    marks = {round(m * 60 * fps): m for m in marks_min}  # frame count -> minutes
    starts: dict[int, list[int]] = {}  # a minute before each mark (or the first frame)
    for count in marks:
        starts.setdefault(max(1, count - round(60 * fps)), []).append(count)
    started: dict[int, tuple[int, float]] = {}
    measured: list[VideoMark] = []

    def on_frame(record: dict[str, Any]) -> None:
        builder.add(record)
        count = record["frame"] + 1
        for mark in starts.get(count, ()):
            started[mark] = (count, time.perf_counter())
        if count in marks:
            rss, peak = _memory_mb()
            first, since = started[count]
            speed = (count - first) / (time.perf_counter() - since)
            measured.append(VideoMark(minutes=marks[count], frames_per_s=speed, rss_mb=rss, peak_rss_mb=peak))

    begun = time.perf_counter()
    frames = run_stream(recognizer, str(clip), output=work / "frames.csv", on_frame=on_frame)
    write_summary(builder.summary(), work / "summary")
    return {
        "clip_frames": total,
        "fps": fps,
        "frames": frames,
        "seconds": time.perf_counter() - begun,
        "marks": [m.to_json() for m in measured],
    }


def video_length_markdown(result: dict[str, Any]) -> str:
    part = result["video_length"]
    marks = [VideoMark.from_json(m) for m in part["marks"]]
    first, last = marks[0], marks[-1]
    lines = [
        run_heading(result, "Long-video run") + ". The shared clip looped to "
        f"{part['frames']:,} frames ({part['frames'] / part['fps'] / 60:.1f} min), labelled with a frames table "
        f"and a summary in {part['seconds'] / 60:.1f} min:",
        "",
        *markdown_table(
            ("minutes of video", "frames/s (the minute before)", "resident MB", "peak MB"),
            [(f"{m.minutes:g}", f"{m.frames_per_s:.1f}", f"{m.rss_mb:.0f}", f"{m.peak_rss_mb:.0f}") for m in marks],
        ),
        "",
    ]
    growth, speed = last.peak_rss_mb - first.peak_rss_mb, last.frames_per_s / first.frames_per_s
    lines += goal_table(
        [
            (
                f"peak memory at {last.minutes:g} min within 50 MB of {first.minutes:g} min",
                f"{growth:+.1f} MB",
                growth <= 50,
            ),
            (f"frames/s at {last.minutes:g} min >= 0.9x of {first.minutes:g} min", f"{speed:.2f}x", speed >= 0.9),
        ]
    )
    return "\n".join(lines)


def main() -> None:
    """`python -m benchmarks.measure_video_length`: written as benchmarks/results/DATE-video_length.json and .md."""
    import tempfile

    from benchmarks.part import REPO, part_parser, write_part
    from benchmarks.report import fill_block

    parser = part_parser("python -m benchmarks.measure_video_length", main.__doc__)
    parser.add_argument("--minutes", type=float, nargs="+", default=list(MARKS_MIN), help="Where to measure.")
    parser.add_argument("--update-readme", action="store_true", help="Put the result into README.md.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measured = video_length_benchmark(args.data / "photos", Path(tmp), tuple(sorted(args.minutes)))
    table = write_part(args.out, "video_length", measured, video_length_markdown)
    if args.update_readme:
        fill_block(REPO / "README.md", "<!-- video_length:start -->", "<!-- video_length:end -->", table)


if __name__ == "__main__":
    main()
