"""Images of degenerate shapes and unusual encodings, made at test time: what every entry point (fer-run,
`Recognizer`, the service, the Ray engine, the web pipeline) must answer with a result or a one-line error."""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from tests.exif import with_exif_orientation

STRIP_SHAPES = ((1, 20000), (20000, 1), (2, 20000), (20000, 2), (3, 5000), (12, 2000), (100, 30000), (1, 1), (5, 5))


def _noise(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def degenerate_images(face_photo: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Named decoded images: noise strips of extreme aspect (each side from 1 to 30,000 pixels) and a photo's
    face pasted at the left of a strip 16 times wider than high (shrunk to under YuNet's smallest input, so
    padded)."""
    images = [(f"strip-{h}x{w}", _noise((h, w), seed)) for seed, (h, w) in enumerate(STRIP_SHAPES)]
    face = cv2.resize(face_photo, (100, round(100 * face_photo.shape[0] / face_photo.shape[1])))
    strip = np.zeros((face.shape[0], 16 * face.shape[0], 3), np.uint8)
    strip[:, : face.shape[1]] = face
    return [*images, ("face-in-a-wide-strip", strip)]


def _pillow(image: Image.Image, kind: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind, **options)
    return buffer.getvalue()


def unusual_files(face_photo: np.ndarray) -> list[tuple[str, bytes]]:
    """Named encoded files: 16-bit gray and RGBA PNG, palette PNG, CMYK JPEG, animated GIF and WebP, EXIF
    rotations on a 1-pixel strip, and a 0-byte file."""
    rgb = Image.fromarray(cv2.cvtColor(cv2.resize(face_photo, (320, 240)), cv2.COLOR_BGR2RGB))
    frames = [rgb, rgb.transpose(Image.Transpose.FLIP_LEFT_RIGHT), rgb.rotate(10)]
    deep = (cv2.resize(face_photo, (320, 240)).astype(np.uint16) * 257).astype(np.uint16)
    strip = cv2.imencode(".jpg", _noise((1, 3000, 3), 7))[1].tobytes()
    return [
        ("gray16.png", cv2.imencode(".png", cv2.cvtColor(deep, cv2.COLOR_BGR2GRAY))[1].tobytes()),
        ("rgba16.png", cv2.imencode(".png", cv2.cvtColor(deep, cv2.COLOR_BGR2BGRA))[1].tobytes()),
        ("palette.png", _pillow(rgb.convert("P"), "PNG")),
        ("cmyk.jpg", _pillow(rgb.convert("CMYK"), "JPEG")),
        ("animated.gif", _pillow(frames[0], "GIF", save_all=True, append_images=frames[1:])),
        ("animated.webp", _pillow(frames[0], "WEBP", save_all=True, append_images=frames[1:])),
        *((f"strip-exif{o}.jpg", with_exif_orientation(strip, o)) for o in (5, 6, 7, 8)),
        ("empty.png", b""),
    ]
