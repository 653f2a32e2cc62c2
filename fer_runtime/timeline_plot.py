"""A video summary's timeline as a picture (OpenCV only, no plotting library): one panel per person, the
probabilities of each class stacked over time in the annotation colours, time the person was not seen left
blank, a time axis in seconds and a legend; and the summary's three files (`write_summary`)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from fer_runtime.annotate import COLORS
from fer_runtime.atomic import atomic_path, write_text
from fer_runtime.errors import FerError
from fer_runtime.timeline import PersonSummary, VideoSummary, format_markdown

WIDTH, PANEL, LEFT, TOP, AXIS = 1000, 90, 70, 36, 28  # pixels
FONT, INK, GRID = cv2.FONT_HERSHEY_SIMPLEX, (40, 40, 40), (225, 225, 225)


def _ticks(seconds: float) -> list[float]:
    step = next((s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600) if seconds / s <= 10), 7200)
    return [t * step for t in range(int(seconds // step) + 1)]


def _legend(canvas: np.ndarray, classes: list[str]) -> None:
    x = LEFT
    for i, name in enumerate(classes):
        cv2.rectangle(canvas, (x, 12), (x + 14, 26), COLORS[i % len(COLORS)], -1)
        cv2.putText(canvas, name, (x + 20, 25), FONT, 0.5, INK, 1, cv2.LINE_AA)
        x += 30 + cv2.getTextSize(name, FONT, 0.5, 1)[0][0]


def _panel(canvas: np.ndarray, top: int, person: PersonSummary, seconds: float) -> None:
    plot_w = WIDTH - LEFT - 20
    cv2.rectangle(canvas, (LEFT, top), (LEFT + plot_w, top + PANEL - 10), GRID, 1)
    cv2.putText(canvas, f"#{person.track}", (10, top + PANEL // 2), FONT, 0.6, INK, 1, cv2.LINE_AA)
    width = person.bin_s
    height = PANEL - 12
    for start, means in person.bins:
        x0 = LEFT + int(plot_w * start / seconds)
        x1 = max(x0 + 1, LEFT + int(plot_w * min(seconds, start + width) / seconds))
        bottom = float(top + PANEL - 11)
        for i, p in enumerate(means):  # stacked from the bottom, in class order
            y = bottom - height * p
            cv2.rectangle(canvas, (x0, int(round(y))), (x1 - 1, int(round(bottom))), COLORS[i % len(COLORS)], -1)
            bottom = y


def draw_timeline(summary: VideoSummary) -> np.ndarray:
    """The summary's people as stacked-probability panels over the video's time (a BGR image)."""
    people = summary.people
    seconds = max(summary.seconds, 1e-3)
    canvas = np.full((TOP + PANEL * max(1, len(people)) + AXIS, WIDTH, 3), 255, np.uint8)
    _legend(canvas, list(summary.classes))
    for k, person in enumerate(people):
        _panel(canvas, TOP + k * PANEL, person, seconds)
    if not people:
        cv2.putText(canvas, "no face was tracked", (LEFT, TOP + PANEL // 2), FONT, 0.6, INK, 1, cv2.LINE_AA)
    axis_y = TOP + PANEL * max(1, len(people))
    for t in _ticks(seconds):
        x = LEFT + int((WIDTH - LEFT - 20) * t / seconds)
        cv2.line(canvas, (x, axis_y - 8), (x, axis_y - 4), INK, 1)
        cv2.putText(canvas, f"{t:g} s", (x - 10, axis_y + 12), FONT, 0.4, INK, 1, cv2.LINE_AA)
    return canvas


def write_summary(summary: VideoSummary, prefix: str | Path) -> list[Path]:
    """PREFIX.json, PREFIX.md and PREFIX.png (the timeline), each written atomically; the paths."""
    prefix = Path(prefix)
    paths = [prefix.with_name(prefix.name + suffix) for suffix in (".json", ".md", ".png")]
    write_text(paths[0], json.dumps(summary.to_json()) + "\n")  # for programs; PREFIX.md is for people
    write_text(paths[1], format_markdown(summary) + "\n")
    with atomic_path(paths[2]) as tmp:
        if not cv2.imwrite(str(tmp), draw_timeline(summary)):
            raise FerError(f"{paths[2]}: cannot write the timeline picture")
    return paths
