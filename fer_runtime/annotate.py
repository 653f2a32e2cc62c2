"""Draw face boxes and labels onto a copy of an image."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from fer_runtime.preprocess import to_bgr
from fer_runtime.recognizer import Face

COLORS = [(60, 60, 230), (60, 200, 60), (200, 200, 200), (220, 120, 40), (40, 200, 220), (200, 60, 200), (0, 140, 255)]
UNCERTAIN_COLOR = (128, 128, 128)


def draw_faces(image: np.ndarray, faces: Sequence[Face], classes: Sequence[str]) -> np.ndarray:
    """A BGR copy of `image` with each face's box, landmarks (dots), track number and label."""
    canvas = to_bgr(image).copy()
    scale = max(0.4, min(canvas.shape[:2]) / 600)
    thickness = max(1, int(round(2 * scale)))
    for face in faces:
        x, y, w, h = face.box
        known = face.label in classes
        color = COLORS[list(classes).index(face.label) % len(COLORS)] if known else UNCERTAIN_COLOR
        cv2.rectangle(canvas, (x, y), (x + w - 1, y + h - 1), color, thickness)
        for px, py in face.landmarks or ():
            cv2.circle(canvas, (int(round(px)), int(round(py))), thickness + 1, color, -1, cv2.LINE_AA)
        text = (f"#{face.track} " if face.track is not None else "") + f"{face.label} {face.confidence:.0%}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        top = max(0, y - th - base - 2)
        cv2.rectangle(canvas, (x, top), (x + tw + 2, top + th + base + 2), color, -1)
        cv2.putText(
            canvas, text, (x + 1, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness, cv2.LINE_AA
        )
    return canvas
