"""Face detection with OpenCV's bundled Haar cascade, and cropping with a margin."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from fer_runtime.errors import FerError

Box = tuple[int, int, int, int]  # x, y, width, height

CASCADE_FILE = "haarcascade_frontalface_default.xml"
DETECT_MAX_SIDE = 960  # photos are shrunk to this longest side before detection


def crop_with_margin(image: np.ndarray, box: Box, margin: float) -> np.ndarray:
    """Crop `box` grown by `margin` × its size on each side, clipped to the image."""
    x, y, w, h = box
    dx, dy = int(round(w * margin)), int(round(h * margin))
    height, width = image.shape[:2]
    x0, y0 = max(0, x - dx), max(0, y - dy)
    x1, y1 = min(width, x + w + dx), min(height, y + h + dy)
    return image[y0:y1, x0:x1]


class FaceDetector:
    """Frontal-face detector; `detect` returns boxes, largest first (empty when none)."""

    def __init__(self, min_face: int = 24, scale_factor: float = 1.1, min_neighbors: int = 5) -> None:
        cascade_dir = getattr(getattr(cv2, "data", None), "haarcascades", "")
        path = Path(cascade_dir) / CASCADE_FILE
        if not hasattr(cv2, "CascadeClassifier") or not path.is_file():
            raise FerError(
                f"OpenCV {cv2.__version__} lacks the Haar face cascade; "
                "install opencv-python-headless<5 or use --no-detect"
            )
        self._cascade = cv2.CascadeClassifier(str(path))
        self.min_face, self.scale_factor, self.min_neighbors = min_face, scale_factor, min_neighbors

    def detect(self, gray: np.ndarray) -> list[Box]:
        """Boxes in `gray`'s pixel coordinates, largest first."""
        scale = min(1.0, DETECT_MAX_SIDE / max(gray.shape))
        small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
        small = cv2.equalizeHist(small)
        min_side = max(self.min_face, min(small.shape) // 20)
        found = self._cascade.detectMultiScale(
            small, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=(min_side, min_side)
        )
        boxes: list[Box] = [
            (round(x / scale), round(y / scale), round(w / scale), round(h / scale))
            for x, y, w, h in np.asarray(found).reshape(-1, 4).tolist()
        ]
        return sorted(boxes, key=lambda b: b[2] * b[3], reverse=True)
