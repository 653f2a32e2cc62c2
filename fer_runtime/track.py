"""Follow faces across video frames: match boxes by overlap, give each face a track number, and smooth
its scores over time so its label does not flicker from frame to frame."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from fer_runtime.detect import Box
from fer_runtime.errors import FerError
from fer_runtime.recognizer import Face

MIN_OVERLAP = 0.3  # intersection over union for a face to continue a track
MAX_MISSED = 10  # frames a track survives without its face


def overlap(a: Box, b: Box) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


@dataclass
class _Track:
    number: int
    box: Box
    scores: np.ndarray
    missed: int = 0


class FaceTracker:
    """Give each frame's faces track numbers and scores smoothed by an exponential moving average.

    `smooth` is the weight of the past: 0 reports each frame's own scores, 0.6 keeps 60% of the running
    average at each frame. `label(box, scores)` gives the label of smoothed scores (`Recognizer.label`).
    """

    def __init__(self, smooth: float = 0.6, min_overlap: float = MIN_OVERLAP, max_missed: int = MAX_MISSED) -> None:
        if not 0 <= smooth < 1:
            raise FerError(f"smooth must be in [0, 1), got {smooth}")
        self.smooth, self.min_overlap, self.max_missed = smooth, min_overlap, max_missed
        self._tracks: list[_Track] = []
        self._next = 0

    def update(
        self, faces: Sequence[Face], classes: Sequence[str], label: Callable[[Box, np.ndarray], str]
    ) -> list[Face]:
        """This frame's faces, each with its track number and smoothed scores (and the label they give)."""
        pairs = sorted(
            ((overlap(t.box, f.box), ti, fi) for ti, t in enumerate(self._tracks) for fi, f in enumerate(faces)),
            reverse=True,
        )
        assigned: dict[int, _Track] = {}
        taken: set[int] = set()
        for iou, ti, fi in pairs:  # greedy: best overlaps first
            if iou < self.min_overlap:
                break
            if ti not in taken and fi not in assigned:
                assigned[fi] = self._tracks[ti]
                taken.add(ti)
        out = []
        for fi, face in enumerate(faces):
            scores = np.array([face.scores[c] for c in classes])
            track = assigned.get(fi)
            if track is None:
                track = _Track(self._next, face.box, scores)
                self._next += 1
                self._tracks.append(track)
            else:
                track.scores = self.smooth * track.scores + (1 - self.smooth) * scores
                track.box, track.missed = face.box, 0
            smoothed = {c: float(v) for c, v in zip(classes, track.scores)}
            out.append(
                dataclasses.replace(face, scores=smoothed, label=label(face.box, track.scores), track=track.number)
            )
        for track in self._tracks:
            if track not in assigned.values():
                track.missed += 1
        self._tracks = [t for t in self._tracks if t.missed <= self.max_missed]
        return out
