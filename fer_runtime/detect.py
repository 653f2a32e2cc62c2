"""Face detectors: YuNet (the default, with five landmarks per face) and OpenCV's Haar cascade.

Both take any decoded image and return `Detection`s in its pixel coordinates, largest first. Photos are
shrunk to `detect_size` before detection (a strip never below one pixel); boxes and landmarks are scaled back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from fer_runtime.defaults import (
    DETECT_SIZE,
    DETECT_THRESHOLD,
    YUNET_NMS_THRESHOLD,
    YUNET_TOP_K,
    detector_problem,
)
from fer_runtime.errors import FerError
from fer_runtime.model_files import bundled_model_dir
from fer_runtime.preprocess import to_bgr, to_gray
from fer_runtime.request_options import DETECT_THRESHOLD_OPTION

Box = tuple[int, int, int, int]  # x, y, width, height
Point = tuple[float, float]

YUNET_FILE = "yunet_s_640_640.onnx"
LANDMARK_NAMES = ("right_eye", "left_eye", "nose", "mouth_right", "mouth_left")  # the person's right and left
CASCADE_FILE = "haarcascade_frontalface_default.xml"
# OpenCV's FaceDetectorYN returns boxes with infinite or 1e23-pixel corners for an input under 64 pixels on a side
# (seen with OpenCV 4.14 on strips such as 12x2000 shrunk to 6x960): smaller sides are padded with black to this
YUNET_MIN_SIDE = 64


@dataclass(frozen=True)
class Detection:
    """A face found in a photo: its box, the detector's score (None for Haar, which gives none) and
    its landmarks in `LANDMARK_NAMES` order (None for Haar)."""

    box: Box
    score: float | None = None
    landmarks: tuple[Point, ...] | None = None


class FaceDetector(Protocol):
    name: str

    def detect(self, image: np.ndarray, detect_threshold: float | None = None) -> list[Detection]: ...


def _shrink(image: np.ndarray, detect_size: int) -> tuple[np.ndarray, float]:
    height, width = image.shape[:2]
    scale = min(1.0, detect_size / max(height, width))
    if scale >= 1:
        return image, 1.0
    if min(round(height * scale), round(width * scale)) < 1:  # a strip thinner than a pixel once shrunk: one pixel
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), scale


def _padded(image: np.ndarray, side: int) -> np.ndarray:
    """The image with black rows and columns on its bottom and right up to `side` pixels (no-op when larger)."""
    bottom, right = max(0, side - image.shape[0]), max(0, side - image.shape[1])
    if not bottom and not right:
        return image
    return cv2.copyMakeBorder(image, 0, bottom, 0, right, cv2.BORDER_CONSTANT, value=0)


def _in_image(row: np.ndarray, height: int, width: int) -> bool:
    """A detector row (x, y, w, h, ...) with finite values and a box of positive size that overlaps the image."""
    x, y, w, h = row[:4]
    return bool(np.isfinite(row).all()) and w > 0 and h > 0 and x < width and y < height and x + w > 0 and y + h > 0


def _largest_first(found: list[Detection]) -> list[Detection]:
    return sorted(found, key=lambda d: d.box[2] * d.box[3], reverse=True)


def crop_with_margin(image: np.ndarray, box: Box, margin: float) -> np.ndarray:
    """Crop `box` grown by `margin` × its size on each side, clipped to the image."""
    x, y, w, h = box
    dx, dy = int(round(w * margin)), int(round(h * margin))
    height, width = image.shape[:2]
    x0, y0 = max(0, x - dx), max(0, y - dy)
    x1, y1 = min(width, x + w + dx), min(height, y + h + dy)
    return image[y0:y1, x0:x1]


def bundled_yunet_path() -> Path:
    """The YuNet model shipped with the runtime (beside the emotion models)."""
    return bundled_model_dir() / "yunet" / YUNET_FILE


class YuNetDetector:
    """YuNet through `cv2.FaceDetectorYN`: boxes, scores and five landmarks per face."""

    name = "yunet"

    def __init__(
        self,
        model: str | Path | None = None,
        detect_threshold: float = DETECT_THRESHOLD,
        detect_size: int = DETECT_SIZE,
    ) -> None:
        path = Path(model) if model is not None else bundled_yunet_path()
        if not path.is_file():
            raise FerError(f"face detector model not found: {path}")
        problem = DETECT_THRESHOLD_OPTION.out_of_range(detect_threshold)
        if problem:
            raise FerError(problem)
        try:
            self._net = cv2.FaceDetectorYN.create(
                str(path), "", (320, 320), detect_threshold, YUNET_NMS_THRESHOLD, YUNET_TOP_K
            )
        except cv2.error:
            raise FerError(f"{path}: not a readable YuNet face detector model") from None
        self.path, self.detect_threshold, self.detect_size = path, detect_threshold, detect_size

    def detect(self, image: np.ndarray, detect_threshold: float | None = None) -> list[Detection]:
        """Faces scoring at least `detect_threshold` (default: the detector's own), largest first."""
        small, scale = _shrink(to_bgr(image), self.detect_size)
        padded = _padded(small, YUNET_MIN_SIDE)
        self._net.setInputSize((padded.shape[1], padded.shape[0]))
        self._net.setScoreThreshold(self.detect_threshold if detect_threshold is None else detect_threshold)
        _, found = self._net.detect(padded)
        if found is None:
            return []
        detections = []
        for row in np.asarray(found, np.float64).reshape(-1, 15) / np.r_[np.full(14, scale), 1.0]:
            if not _in_image(row, *image.shape[:2]):
                continue
            x, y, w, h = (round(v) for v in row[:4])
            points = tuple((float(row[4 + 2 * i]), float(row[5 + 2 * i])) for i in range(5))
            detections.append(Detection((x, y, w, h), float(row[14]), points))
        return _largest_first(detections)


class HaarDetector:
    """OpenCV's bundled frontal-face Haar cascade: boxes only."""

    name = "haar"

    def __init__(
        self, detect_size: int = DETECT_SIZE, min_face: int = 24, scale_factor: float = 1.1, min_neighbors: int = 5
    ) -> None:
        cascade_dir = getattr(getattr(cv2, "data", None), "haarcascades", "")
        path = Path(cascade_dir) / CASCADE_FILE
        if not hasattr(cv2, "CascadeClassifier") or not path.is_file():
            raise FerError(
                f"OpenCV {cv2.__version__} lacks the Haar face cascade; install opencv-python-headless<5 "
                "or use --detector yunet"
            )
        self._cascade = cv2.CascadeClassifier(str(path))
        self.detect_size, self.min_face, self.scale_factor, self.min_neighbors = (
            detect_size,
            min_face,
            scale_factor,
            min_neighbors,
        )

    def detect(self, image: np.ndarray, detect_threshold: float | None = None) -> list[Detection]:
        """Faces, largest first (the cascade gives no scores, so `detect_threshold` does not apply)."""
        small, scale = _shrink(to_gray(image), self.detect_size)
        small = cv2.equalizeHist(small)
        min_side = max(self.min_face, min(small.shape) // 20)
        found = self._cascade.detectMultiScale(
            small, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=(min_side, min_side)
        )
        return _largest_first(
            [
                Detection((round(x / scale), round(y / scale), round(w / scale), round(h / scale)))
                for x, y, w, h in np.asarray(found).reshape(-1, 4).tolist()
            ]
        )


def create_detector(
    name: str = "yunet", detect_threshold: float = DETECT_THRESHOLD, detect_size: int = DETECT_SIZE
) -> FaceDetector:
    """A detector by name: `yunet` (bundled model, `detect_threshold`) or `haar`."""
    problem = detector_problem(name, detect_size)
    if problem:
        raise FerError(problem)
    if name == "yunet":
        return YuNetDetector(detect_threshold=detect_threshold, detect_size=detect_size)
    return HaarDetector(detect_size=detect_size)
