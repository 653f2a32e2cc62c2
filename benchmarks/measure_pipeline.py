"""End to end: `fer-run` cold start against a PyTorch script, a folder of crops, and photos."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.timing import measure
from fer_runtime.detect import FaceDetector, crop_with_margin
from fer_runtime.preprocess import decode_image, prepare_batch, to_gray
from fer_runtime.recognizer import Recognizer
from fer_train.data import FaceDataset

PYTORCH_SCRIPT = """
import sys, cv2, torch
from fer_runtime.preprocess import face_pixels, model_input
from fer_train.checkpoint import load_model
loaded = load_model(sys.argv[1])
pixels = face_pixels(cv2.imread(sys.argv[2], cv2.IMREAD_UNCHANGED), loaded.spec)
x = torch.from_numpy(model_input(pixels[None], loaded.spec))
with torch.inference_mode():
    print(loaded.spec.classes[int(loaded.model(x).argmax())])
"""


def _fer_run() -> str:
    found = shutil.which("fer-run")
    if found is None:
        raise RuntimeError("fer-run is not on PATH: install the runtime first")
    return found


def _wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def cold_start(image: Path, checkpoint: Path, repeats: int) -> dict[str, Any]:
    fer_run = measure(lambda: _wall([_fer_run(), str(image)]), repeats, warmup=1)
    pytorch = measure(
        lambda: _wall([sys.executable, "-c", PYTORCH_SCRIPT, str(checkpoint), str(image)]), repeats, warmup=1
    )
    return {
        "fer_run_s": fer_run["median_s"],
        "fer_run_min_s": fer_run["min_s"],
        "fer_run_max_s": fer_run["max_s"],
        "pytorch_script_s": pytorch["median_s"],
        "pytorch_min_s": pytorch["min_s"],
        "pytorch_max_s": pytorch["max_s"],
        "ratio": fer_run["median_s"] / pytorch["median_s"],
    }


def folder_run(test: FaceDataset, folder: Path) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    for i, pixels in enumerate(test.pixels):
        cv2.imwrite(str(folder / f"{i:05d}.png"), pixels)
    seconds = _wall([_fer_run(), str(folder), "--output", str(folder.parent / "folder_results.jsonl")])
    return {"images": len(test), "seconds": seconds, "images_per_s": len(test) / seconds}


def synthetic_photos(test: FaceDataset, count: int) -> list[bytes]:
    """Scenes of 640x480 textured background with one or two upscaled test crops pasted in."""
    rng = np.random.default_rng(0)
    photos = []
    for i in range(count):
        scene = cv2.GaussianBlur(rng.integers(60, 200, (480, 640), dtype=np.uint8), (0, 0), 6)
        for j in range(1 + i % 2):
            side = int(rng.integers(140, 220))
            face = cv2.resize(test.pixels[(2 * i + j) % len(test)], (side, side), interpolation=cv2.INTER_CUBIC)
            x, y = 20 + j * 320 + int(rng.integers(0, 80)), int(rng.integers(10, 480 - side - 10))
            scene[y : y + side, x : x + side] = face
        ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(scene, cv2.COLOR_GRAY2BGR))
        photos.append(encoded.tobytes())
    return photos


def photo_stages(recognizer: Recognizer, photos: list[bytes]) -> dict[str, Any]:
    """Per-photo milliseconds of decode, detect, preprocess and inference (medians), and faces found."""
    detector = FaceDetector()
    stages: dict[str, list[float]] = {"decode": [], "detect": [], "preprocess": [], "inference": []}
    faces = 0
    for data in photos:
        t0 = time.perf_counter()
        image = decode_image(data)
        t1 = time.perf_counter()
        boxes = detector.detect(to_gray(image))
        t2 = time.perf_counter()
        batch = prepare_batch([crop_with_margin(image, b, recognizer.spec.face_margin) for b in boxes], recognizer.spec)
        t3 = time.perf_counter()
        if len(batch):
            recognizer.logits(batch)
        t4 = time.perf_counter()
        faces += len(boxes)
        for key, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            stages[key].append(seconds * 1e3)
    medians = {f"{k}_ms": float(np.median(v)) for k, v in stages.items()}
    total = sum(medians.values())
    return {
        "photos": len(photos),
        "faces_found": faces,
        "faces_pasted": sum(1 + i % 2 for i in range(len(photos))),
        **medians,
        "total_ms": total,
        "photos_per_s": 1e3 / total,
    }
