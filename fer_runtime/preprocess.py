"""Pure image → tensor functions, shared by training, evaluation and the runtime.

Each step takes arrays and returns new arrays; nothing here keeps state. The chain for one face
crop is `decode_image` (bytes only) → `to_gray` → `resize` → `normalize`; `prepare_batch` runs
the whole chain for many crops, `model_input` the last step for faces already decoded and resized.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from fer_runtime.errors import FerError
from fer_runtime.spec import PreprocessSpec

_INTERPOLATION = {
    "area": cv2.INTER_AREA,
    "linear": cv2.INTER_LINEAR,
    "cubic": cv2.INTER_CUBIC,
    "nearest": cv2.INTER_NEAREST,
}


def decode_image(data: bytes, name: str = "image") -> np.ndarray:
    """Decode encoded image bytes (PNG, JPEG, BMP, ...) keeping depth and gray or colour, turned upright as its
    EXIF orientation says (as a browser shows it: phone photos are often stored sideways); alpha is dropped."""
    if not data:
        raise FerError(f"{name}: empty file")
    buffer = np.frombuffer(data, dtype=np.uint8)
    try:
        image = cv2.imdecode(buffer, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)  # IMREAD_UNCHANGED ignores EXIF
    except cv2.error:  # most broken files give None, a few an exception from the codec
        image = None
    if image is None or image.size == 0:
        raise FerError(f"{name}: not a readable image")
    return image


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Pixels of any supported depth (uint8, uint16, float in [0, 1]) → uint8, same shape."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image >> 8).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):  # NaN (a float TIFF may hold it) is black
        return np.clip(np.rint(np.nan_to_num(image) * 255.0), 0, 255).astype(np.uint8)
    raise FerError(f"unsupported pixel type {image.dtype}")


def _channels(image: np.ndarray) -> int:
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return 1
    if image.ndim == 3 and image.shape[2] in (3, 4):
        return int(image.shape[2])
    raise FerError(f"unsupported image shape {image.shape}")


def to_gray(image: np.ndarray) -> np.ndarray:
    """Any decoded image (gray, BGR, BGRA; uint8, uint16 or float in [0, 1]) → 2-D uint8 gray."""
    channels = _channels(image)
    image = to_uint8(image)
    if channels == 1:
        return image.reshape(image.shape[:2])
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY if channels == 3 else cv2.COLOR_BGRA2GRAY)


def to_bgr(image: np.ndarray) -> np.ndarray:
    """Any decoded image → 8-bit 3-channel BGR (what YuNet, drawing and video writing take)."""
    channels = _channels(image)
    image = to_uint8(image)
    if channels == 3:
        return image
    if channels == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2BGR)


def resize(gray: np.ndarray, height: int, width: int, interpolation: str = "area") -> np.ndarray:
    """Resize a 2-D image to height x width (a no-op copy when it already has that size)."""
    if gray.shape == (height, width):
        return gray.copy()
    return cv2.resize(gray, (width, height), interpolation=_INTERPOLATION[interpolation])


def normalize(gray: np.ndarray, mean: float, std: float) -> np.ndarray:
    """uint8 pixels (any shape) → float32 `(pixel / 255 - mean) / std`."""
    return ((gray.astype(np.float32) / np.float32(255.0)) - np.float32(mean)) / np.float32(std)


def face_pixels(image: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """A decoded face crop → uint8 gray at the spec's input size."""
    return resize(to_gray(image), spec.height, spec.width, spec.interpolation)


def model_input(pixels: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """uint8 faces already at the input size [N, H, W] → float32 model input [N, 1, H, W]."""
    return normalize(pixels, spec.mean, spec.std)[:, None, :, :]


def prepare_batch(crops: Sequence[np.ndarray], spec: PreprocessSpec) -> np.ndarray:
    """Decoded face crops of any size → float32 model input [N, 1, height, width]."""
    if len(crops) == 1:  # one face (a crop, a photo of one person): no stacking
        pixels = face_pixels(crops[0], spec)[None]
    elif crops:
        pixels = np.stack([face_pixels(crop, spec) for crop in crops])
    else:
        pixels = np.zeros((0, spec.height, spec.width), np.uint8)
    return model_input(pixels, spec)
