"""What cameras and detectors do to a face crop, as pure functions on uint8 gray faces [N, H, W]: blur, sensor
noise, JPEG, dark (gamma), low contrast, a low-resolution camera, in-plane rotation, the detector's box
shifted and scaled, a band over the eyes (sunglasses) or the mouth (a mask), and the mirror image. Each at two
severities; the robustness benchmark applies them to held-out faces, and training may apply them at random.

Positions of the eyes and mouth are those of the landmark template FER2013's crops share (rows 0.38 and 0.75
of the crop's height)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

EYE_ROW, MOUTH_ROW = 0.38, 0.75  # band centres, as fractions of the crop's height


@dataclass(frozen=True)
class Shift:
    name: str
    what: str  # what the severity means, for tables
    moderate: float
    strong: float
    apply: Callable[[np.ndarray, float, np.random.Generator], np.ndarray]  # faces, severity, rng → faces
    none: float  # the severity that leaves a face as it is (training draws between it and `strong`)


def _each(faces: np.ndarray, transform: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    return np.stack([transform(face) for face in faces]) if len(faces) else faces.copy()


def _blur(faces: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    if sigma <= 0:
        return faces.copy()
    return _each(faces, lambda f: cv2.GaussianBlur(f, (0, 0), sigma, borderType=cv2.BORDER_REFLECT))


def _noise(faces: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(faces + rng.normal(0.0, sigma, faces.shape), 0, 255).astype(np.uint8)


def _jpeg(faces: np.ndarray, quality: float, rng: np.random.Generator) -> np.ndarray:
    def round_trip(face: np.ndarray) -> np.ndarray:
        encoded = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])[1]
        return np.asarray(cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE))

    return _each(faces, round_trip)


def _dark(faces: np.ndarray, gamma: float, rng: np.random.Generator) -> np.ndarray:
    table = np.round(255.0 * (np.arange(256) / 255.0) ** gamma).astype(np.uint8)
    return table[faces]


def _low_contrast(faces: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    mean = faces.mean(axis=(1, 2), keepdims=True)
    return np.clip(np.round(mean + (faces - mean) * factor), 0, 255).astype(np.uint8)


def _low_resolution(faces: np.ndarray, side: float, rng: np.random.Generator) -> np.ndarray:
    def round_trip(face: np.ndarray) -> np.ndarray:
        h, w = face.shape
        small = cv2.resize(face, (int(side), int(side)), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)

    return _each(faces, round_trip)


def _warp(face: np.ndarray, angle: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    h, w = face.shape
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, scale)
    matrix[:, 2] += (shift[0] * w, shift[1] * h)
    return cv2.warpAffine(face, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _rotate(faces: np.ndarray, degrees: float, rng: np.random.Generator) -> np.ndarray:
    signs = rng.choice([-1.0, 1.0], len(faces))
    return np.stack([_warp(f, s * degrees, 1.0, (0.0, 0.0)) for f, s in zip(faces, signs)]) if len(faces) else faces


def _box(faces: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """The crop box moved by `amount` of its side in a random direction and grown or shrunk by `amount`."""
    if not len(faces):
        return faces.copy()
    directions = rng.uniform(0, 2 * np.pi, len(faces))
    scales = 1.0 + amount * rng.choice([-1.0, 1.0], len(faces))
    return np.stack(
        [
            _warp(f, 0.0, float(s), (amount * float(np.cos(d)), amount * float(np.sin(d))))
            for f, d, s in zip(faces, directions, scales)
        ]
    )


def _band(row: float, value: int) -> Callable[[np.ndarray, float, np.random.Generator], np.ndarray]:
    def cover(faces: np.ndarray, height: float, rng: np.random.Generator) -> np.ndarray:
        covered = faces.copy()
        side = faces.shape[1]
        top = int(round((row - height / 2) * side))
        covered[:, max(0, top) : top + max(1, int(round(height * side))), :] = value
        return covered

    return cover


def _flip(faces: np.ndarray, _: float, rng: np.random.Generator) -> np.ndarray:
    return np.ascontiguousarray(faces[:, :, ::-1])


SHIFTS: tuple[Shift, ...] = (
    Shift("blur", "Gaussian sigma, px of 48", 1.0, 2.0, _blur, 0.0),
    Shift("noise", "Gaussian noise sigma, of 255", 10.0, 20.0, _noise, 0.0),
    Shift("jpeg", "JPEG quality", 20.0, 10.0, _jpeg, 100.0),
    Shift("dark", "gamma", 2.0, 3.0, _dark, 1.0),
    Shift("low_contrast", "contrast kept", 0.5, 0.3, _low_contrast, 1.0),
    Shift("low_resolution", "side in px, and back", 24.0, 16.0, _low_resolution, 48.0),
    Shift("rotation", "degrees, either way", 15.0, 30.0, _rotate, 0.0),
    Shift("box", "box moved and resized, share of side", 0.05, 0.1, _box, 0.0),
    Shift("eyes_covered", "band height, share of side (black)", 0.12, 0.2, _band(EYE_ROW, 0), 0.0),
    Shift("mouth_covered", "band height, share of side (light gray)", 0.12, 0.2, _band(MOUTH_ROW, 200), 0.0),
    Shift("flip", "mirror image", 1.0, 1.0, _flip, 0.0),
)
SEVERITIES = ("moderate", "strong")


def shifted(faces: np.ndarray, shift: Shift, severity: str, seed: int = 0) -> np.ndarray:
    """`faces` [N, H, W] uint8 under `shift` at `severity` ("moderate" or "strong"), the same for the same seed."""
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")
    return shift.apply(faces, getattr(shift, severity), np.random.default_rng(seed))


def random_shifts(faces: np.ndarray, p: float, seed: int) -> np.ndarray:
    """Training augmentation: each face, with probability `p`, under one shift other than the mirror image
    (training flips on its own) at a strength drawn uniformly between none and the shift's strong severity."""
    rng = np.random.default_rng(seed)
    out = faces.copy()
    choices = [s for s in SHIFTS if s.name != "flip"]
    for i in np.flatnonzero(rng.random(len(faces)) < p):
        shift = choices[int(rng.integers(len(choices)))]
        severity = shift.none + rng.random() * (shift.strong - shift.none)
        if shift.name in ("jpeg", "low_resolution"):
            severity = max(round(severity), 1)
        out[i] = shift.apply(faces[i : i + 1], severity, rng)[0]
    return out
