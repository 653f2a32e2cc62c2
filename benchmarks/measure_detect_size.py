"""Which `--detect-size`: YuNet's recall and time on large photos for each longest side they are shrunk to
before detection. Two scenes, both 1920x1080 with validation faces pasted at known places (half on a real
photo): a group (six faces of 40-100 px) and a portrait (one face of 300-500 px)."""

from __future__ import annotations

import time
from typing import Any

import cv2
import numpy as np

from benchmarks.measure_photos import PastedPhoto, _assign
from benchmarks.photo_runs import SizeSweep
from fer_runtime.detect import YuNetDetector
from fer_runtime.preprocess import decode_image

SIZES = (480, 640, 960, 1280, 1920)  # longest sides tried (1920: no shrinking)
SCENE = (1920, 1080)
SCENES = {"group": (6, 40, 100), "portrait": (1, 300, 500)}  # faces per photo, smallest and largest side


def scene_photos(faces: np.ndarray, count: int, background: np.ndarray, kind: str) -> list[PastedPhoto]:
    """`count` scenes of `kind`: faces in a row of equal cells, each at a random size and place in its cell."""
    per_photo, smallest, largest = SCENES[kind]
    width, height = SCENE
    rng = np.random.default_rng(1)
    photos = []
    for i in range(count):
        if i % 2:
            scene = cv2.resize(background, SCENE, interpolation=cv2.INTER_LINEAR)
        else:
            noise = rng.integers(60, 200, (height // 4, width // 4), dtype=np.uint8)
            scene = cv2.cvtColor(cv2.resize(cv2.GaussianBlur(noise, (0, 0), 3), SCENE), cv2.COLOR_GRAY2BGR)
        cell = width // per_photo
        boxes, picks = [], []
        for j in range(per_photo):
            side = int(rng.integers(smallest, largest + 1))
            x = j * cell + int(rng.integers(0, max(1, cell - side)))
            y = int(rng.integers(0, height - side))
            pick = (per_photo * i + j) % len(faces)
            face = cv2.resize(faces[pick], (side, side), interpolation=cv2.INTER_CUBIC)
            scene[y : y + side, x : x + side] = face[:, :, None]
            boxes.append((x, y, side, side))
            picks.append(pick)
        encoded = cv2.imencode(".jpg", scene)[1].tobytes()
        photos.append(PastedPhoto(encoded, boxes, picks, [0] * per_photo))
    return photos


def _sweep(photos: list[PastedPhoto], size: int) -> SizeSweep:
    detector = YuNetDetector(detect_size=size)
    images = [decode_image(p.data) for p in photos]
    detector.detect(images[0])  # warm-up
    found = pasted = false_positives = 0
    times = []
    for photo, image in zip(photos, images):
        started = time.perf_counter()
        detections = detector.detect(image)
        times.append(time.perf_counter() - started)
        matched = _assign(photo.boxes, detections)
        found, pasted = found + len(matched), pasted + len(photo.boxes)
        false_positives += len(detections) - len(matched)
    return SizeSweep(
        size=size,
        recall=found / pasted,
        faces=pasted,
        false_positives=false_positives,
        detect_ms=1000 * float(np.median(times)),
    )


def detect_size_sweep(faces: np.ndarray, background: np.ndarray, count: int) -> dict[str, list[dict[str, Any]]]:
    """For each scene, each size's recall, false positives and median detection milliseconds."""
    return {
        kind: [_sweep(photos, size).to_json() for size in SIZES]
        for kind, photos in ((k, scene_photos(faces, count, background, k)) for k in SCENES)
    }
