"""Per-frame emotion labels for a video file or a webcam, with optional annotated or CSV output. Faces are
tracked across frames (`track.FaceTracker`) and their scores smoothed over time."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from fer_runtime.annotate import draw_faces
from fer_runtime.atomic import atomic_path
from fer_runtime.defaults import SMOOTH
from fer_runtime.errors import FerError
from fer_runtime.recognizer import Face, Recognizer
from fer_runtime.results import image_record
from fer_runtime.table import FRAME_COLUMNS, TABLE_SUFFIXES, TableWriter
from fer_runtime.track import FaceTracker

VIDEO_SUFFIXES = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "mp4v"}
FLUSH_FRAMES = 16  # table rows reach the disk every this many frames (about half a second of video)


def open_capture(source: str | int) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        what = f"webcam {source}" if isinstance(source, int) else f"{source}: not a readable video"
        raise FerError(f"cannot open {what}")
    return capture


def frames(capture: cv2.VideoCapture, max_frames: int | None = None) -> Iterator[np.ndarray]:
    count = 0
    while max_frames is None or count < max_frames:
        ok, frame = capture.read()
        if not ok:
            return
        count += 1
        yield frame


def can_show() -> bool:
    """True when a display exists and this OpenCV build has its GUI module."""
    if not os.environ.get("DISPLAY") and os.name != "nt":
        return False
    try:
        return "NO" not in cv2.getBuildInformation().split("GUI:")[1].splitlines()[0]
    except IndexError:
        return False


def run_stream(
    recognizer: Recognizer,
    source: str | int,
    *,
    output: Path | None = None,
    detect: bool = True,
    top_k: int | None = None,
    max_frames: int | None = None,
    show: bool = False,
    on_frame: Callable[[dict[str, Any]], None] | None = None,
    smooth: float = SMOOTH,
) -> int:
    """Classify every frame; write an annotated video (.mp4/.avi/.mkv) or a table (.csv/.jsonl) of the
    frames' records. Each face carries a track number; its scores are an exponential moving average
    with weight `smooth` on the past (0 reports each frame's own). Returns the number of frames read.

    A video file that ends before the frames its container declares (cut or corrupt) keeps what was written,
    under the output's own name, and then raises FerError saying how many frames were read."""
    suffix = output.suffix.lower() if output is not None else None
    if suffix is not None and suffix not in (*VIDEO_SUFFIXES, *TABLE_SUFFIXES):
        raise FerError(f"{output}: video output must end in {', '.join([*VIDEO_SUFFIXES, *TABLE_SUFFIXES])}")
    tracker = FaceTracker(smooth)
    capture = open_capture(source)
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    name = f"webcam:{source}" if isinstance(source, int) else str(source)
    video_out = output if output is not None and suffix in VIDEO_SUFFIXES else None
    table_out = output if output is not None and suffix in TABLE_SUFFIXES else None
    declared = 0 if isinstance(source, int) else int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    count, quit_early = 0, False
    try:
        with (
            atomic_path(video_out) if video_out is not None else nullcontext() as video_tmp,
            (
                TableWriter(table_out, recognizer.classes, extra=FRAME_COLUMNS)
                if table_out is not None
                else nullcontext()
            ) as table,
        ):
            canvas = _Canvas(video_tmp, fps, show, recognizer.classes) if video_out is not None or show else None
            for index, frame in enumerate(frames(capture, max_frames)):
                count += 1
                faces = tracker.update(recognizer.analyze(frame, detect=detect), recognizer.classes, recognizer.label)
                record = {"frame": index, "time_s": round(index / fps, 3), **image_record(name, faces, top_k)}
                if table is not None:
                    table.write(record)
                    if count % FLUSH_FRAMES == 0:
                        table.flush()  # a killed run keeps what it labelled (a webcam run never ends by itself)
                if on_frame:
                    on_frame(record)
                if canvas is not None and not canvas.put(frame, faces):
                    quit_early = True
                    break
            if canvas is not None:
                canvas.close()
            if video_out is not None and not count:
                raise FerError(f"{name}: no frames could be read")
    finally:
        capture.release()
    if not quit_early and count < min(declared, max_frames or declared) - max(1, declared // 100):
        kept = f"; {output} has the {count} read" if output is not None else ""
        raise FerError(f"{name}: ended after {count} of the {declared} frames it declares (cut or corrupt){kept}")
    return count


class _Canvas:
    """Where annotated frames go: a video file being written (`path`, its writer opened on the first frame, as
    the frame size is known only then), a window (`show`), or both."""

    def __init__(self, path: Path | None, fps: float, show: bool, classes: Sequence[str]) -> None:
        self.path, self.fps, self.show, self.classes = path, fps, show, classes
        self.writer: cv2.VideoWriter | None = None

    def put(self, frame: np.ndarray, faces: Sequence[Face]) -> bool:
        """Draw the faces on the frame and pass it on; False when the viewer pressed q or Esc."""
        canvas = draw_faces(frame, faces, self.classes)
        if self.path is not None:
            if self.writer is None:
                self.writer = _video_writer(str(self.path), self.path.suffix, self.fps, canvas)
            self.writer.write(canvas)
        return not (self.show and _shown_until_quit(canvas))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()


def _video_writer(path: str, suffix: str, fps: float, first: np.ndarray) -> cv2.VideoWriter:
    fourcc = cv2.VideoWriter.fourcc(*VIDEO_SUFFIXES[suffix.lower()])
    return cv2.VideoWriter(path, fourcc, fps, first.shape[1::-1])


def _shown_until_quit(canvas: np.ndarray) -> bool:
    """Show the frame; True when the user pressed q or Esc."""
    cv2.imshow("fer-run", canvas)
    return cv2.waitKey(1) & 0xFF in (ord("q"), 27)
