"""Where the training faces' landmarks sit: the template `fer_runtime.align` warps detected faces onto,
measured by running the detector on training-style crops (export records it in the model's spec)."""

from __future__ import annotations

import cv2
import numpy as np

from fer_runtime.detect import FaceDetector
from fer_runtime.errors import FerError

TEMPLATE_UPSCALE = 4  # training crops are enlarged this much before detection (YuNet misses 48-pixel faces)
TEMPLATE_PAD = 0.5  # and padded by this share of their side with gray, so the face is not cut by the border


def landmarks_in(faces: np.ndarray, detector: FaceDetector) -> np.ndarray:
    """The detector's five landmarks in each training-style gray crop of `faces` [N, H, W] uint8 where it found a
    face, as fractions of the crop (x0, y0, x1, y1, ...): [M, 10], M <= N."""
    if faces.ndim != 3:
        raise FerError("landmarks_in needs a stack of gray face crops [N, H, W]")
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
    return np.stack(found) if found else np.zeros((0, 10))


def measure_template(faces: np.ndarray, detector: FaceDetector) -> tuple[tuple[float, ...], int]:
    """Median landmark positions (fractions of the frame; x0, y0, x1, y1, ...) over the training-style
    gray crops `faces` [N, H, W] uint8, and how many of them the detector found a face in (the template
    is empty when it found none)."""
    if faces.ndim != 3 or not len(faces):
        raise FerError("measure_template needs a stack of gray face crops [N, H, W]")
    found = landmarks_in(faces, detector)
    if not len(found):
        return (), 0
    return tuple(round(float(v), 4) for v in np.median(found, axis=0)), len(found)
