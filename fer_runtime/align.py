"""Face crops framed like the training faces: a similarity transform (rotation, scale, shift) that puts a
detected face's five landmarks where the training faces have theirs, so the eyes come out level.

The template (`PreprocessSpec.landmark_template`) is measured, not assumed: `fer_train`'s export runs the
detector on training-style crops and takes the median landmark positions, as fractions of the frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from fer_runtime.detect import Point
from fer_runtime.errors import FerError


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The rotation, scale and shift [2, 3] that maps points `source` [K, 2] closest to `target` [K, 2] in least
    squares (closed form, no reflection): deterministic, so the web page's copy gives the same warp."""
    source_mean, target_mean = source.mean(0), target.mean(0)
    s, t = source - source_mean, target - target_mean
    spread = float((s**2).sum())
    if spread == 0:
        raise FerError("cannot align a face whose landmarks coincide")
    a = float((s[:, 0] * t[:, 0] + s[:, 1] * t[:, 1]).sum()) / spread
    b = float((s[:, 0] * t[:, 1] - s[:, 1] * t[:, 0]).sum()) / spread
    rotate = np.array([[a, -b], [b, a]])
    return np.hstack([rotate, (target_mean - rotate @ source_mean)[:, None]])


def aligned_crop(
    image: np.ndarray, landmarks: Sequence[Point], template: Sequence[float], height: int, width: int
) -> np.ndarray:
    """The face whose `landmarks` are given, warped so they land on `template` (x0, y0, x1, y1, ...
    as fractions of the frame), with a frame of the face's own resolution and the spec's aspect ratio.

    The frame's width is chosen so the warp neither enlarges nor shrinks the face much (and is never wider than
    the image's longest side); the runtime then resizes it to the model input like any crop (and a frame under a
    quarter of the input is too small).
    """
    source = np.asarray(landmarks, np.float64).reshape(-1, 2)
    target = np.asarray(template, np.float64).reshape(-1, 2)
    if source.shape != target.shape or len(source) < 2:
        raise FerError(f"need matching landmarks and template, got {source.shape} and {target.shape}")
    spread = np.linalg.norm(source - source.mean(0), axis=1).mean()
    unit = np.linalg.norm((target - target.mean(0)) * [1.0, height / width], axis=1).mean()
    # the frame's width with no scaling in the warp, at most the image's longest side (landmarks from a faulty
    # detection may spread far beyond it, and the frame would not fit in memory)
    side = max(1, min(int(round(spread / unit)), max(image.shape[:2])))
    frame_w, frame_h = side, max(1, int(round(side * height / width)))
    matrix = similarity_transform(source, target * [frame_w, frame_h])
    return cv2.warpAffine(image, matrix, (frame_w, frame_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
