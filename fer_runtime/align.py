"""Face crops framed like the training faces: a similarity transform (rotation, scale, shift) that puts a
detected face's five landmarks where the training faces have theirs, so the eyes come out level.

The template (`PreprocessSpec.landmark_template`) is measured, not assumed: `measure_template` runs the
detector on training-style crops and takes the median landmark positions, as fractions of the frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from fer_runtime.detect import FaceDetector, Point
from fer_runtime.errors import FerError

TEMPLATE_UPSCALE = 4  # training crops are enlarged this much before detection (YuNet misses 48-pixel faces)
TEMPLATE_PAD = 0.5  # and padded by this share of their side with gray, so the face is not cut by the border


def aligned_crop(
    image: np.ndarray, landmarks: Sequence[Point], template: Sequence[float], height: int, width: int
) -> np.ndarray:
    """The face whose `landmarks` are given, warped so they land on `template` (x0, y0, x1, y1, ...
    as fractions of the frame), with a frame of the face's own resolution and the spec's aspect ratio.

    The frame's width is chosen so the warp neither enlarges nor shrinks the face much; the runtime then
    resizes it to the model input like any crop (and a frame under a quarter of the input is too small).
    """
    source = np.asarray(landmarks, np.float64).reshape(-1, 2)
    target = np.asarray(template, np.float64).reshape(-1, 2)
    if source.shape != target.shape or len(source) < 2:
        raise FerError(f"need matching landmarks and template, got {source.shape} and {target.shape}")
    spread = np.linalg.norm(source - source.mean(0), axis=1).mean()
    unit = np.linalg.norm((target - target.mean(0)) * [1.0, height / width], axis=1).mean()
    side = max(1, int(round(spread / unit)))  # frame width with no scaling in the warp
    frame_w, frame_h = side, max(1, int(round(side * height / width)))
    matrix, _ = cv2.estimateAffinePartial2D(source, target * [frame_w, frame_h], method=cv2.LMEDS)
    if matrix is None:
        raise FerError("cannot align a face whose landmarks coincide")
    return cv2.warpAffine(image, matrix, (frame_w, frame_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def measure_template(faces: np.ndarray, detector: FaceDetector) -> tuple[tuple[float, ...], int]:
    """Median landmark positions (fractions of the frame; x0, y0, x1, y1, ...) over the training-style
    gray crops `faces` [N, H, W] uint8, and how many of them the detector found a face in (the template
    is empty when it found none)."""
    if faces.ndim != 3 or not len(faces):
        raise FerError("measure_template needs a stack of gray face crops [N, H, W]")
    height, width = faces.shape[1:]
    pad = int(round(TEMPLATE_PAD * TEMPLATE_UPSCALE * max(height, width)))
    found = []
    for face in faces:
        big = cv2.resize(face, (width * TEMPLATE_UPSCALE, height * TEMPLATE_UPSCALE), interpolation=cv2.INTER_CUBIC)
        canvas = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=128)
        detections = detector.detect(canvas)
        if detections and detections[0].landmarks is not None:
            points = (np.asarray(detections[0].landmarks) - pad) / TEMPLATE_UPSCALE / [width, height]
            found.append(points.reshape(-1))
    if not found:
        return (), 0
    return tuple(round(float(v), 4) for v in np.median(np.stack(found), axis=0)), len(found)
