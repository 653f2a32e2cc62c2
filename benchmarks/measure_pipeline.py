"""End to end: `fer-run` cold start against a PyTorch script, and a folder of crops (photos: `measure_photos`)."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import cv2
import ray

from benchmarks.inference_runs import ColdStart, FolderRate
from benchmarks.timing import measure
from fer_runtime.images import run_images
from fer_runtime.inputs import read_image
from fer_runtime.ray_engine import default_actors, run_ray
from fer_runtime.recognizer import Recognizer
from fer_train.data import FaceDataset

FOLDER_REPEATS = 5  # paired timings: the folder in process and classify; fer-run and the classify script
CLASSIFY_SCRIPT = """
import json, sys
from pathlib import Path
from fer_runtime import Recognizer
from fer_runtime.inputs import read_image
recognizer = Recognizer(threads=2)
paths = sorted(Path(sys.argv[1]).iterdir())
with open(sys.argv[2], "w") as out:
    for start in range(0, len(paths), 64):
        batch = paths[start : start + 64]
        for path, row in zip(batch, recognizer.classify([read_image(p) for p in batch])):
            out.write(json.dumps({"file": str(path), "label": recognizer.classes[int(row.argmax())]}) + "\\n")
"""
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


def cold_start(image: Path, checkpoint: Path, repeats: int) -> ColdStart:
    fer_run = measure(lambda: _wall([_fer_run(), str(image)]), repeats, warmup=1)
    pytorch = measure(
        lambda: _wall([sys.executable, "-c", PYTORCH_SCRIPT, str(checkpoint), str(image)]), repeats, warmup=1
    )
    return ColdStart(
        fer_run_s=fer_run.median_s,
        fer_run_min_s=fer_run.min_s,
        fer_run_max_s=fer_run.max_s,
        pytorch_script_s=pytorch.median_s,
        pytorch_min_s=pytorch.min_s,
        pytorch_max_s=pytorch.max_s,
        ratio=fer_run.median_s / pytorch.median_s,
    )


def folder_rate(test: FaceDataset, folder: Path) -> FolderRate:
    """A folder of the test crops (PNG) through `fer-run` against a classify script (`CLASSIFY_SCRIPT`: read,
    decode, `Recognizer.classify` 64 at a time, a JSON line each), both whole processes; and through
    `run_images` in process, against `Recognizer.classify` at batch 64 on the same decoded crops (and its rate with
    the test-time flip, `tta="flip"`)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, pixels in enumerate(test.pixels):
        cv2.imwrite(str(folder / f"{i:05d}.png"), pixels)
    processes = [  # fer-run and a user's classify script, each a whole process, back to back
        (
            _wall([_fer_run(), str(folder), "--output", str(folder.parent / "folder_results.jsonl")]),
            _wall([sys.executable, "-c", CLASSIFY_SCRIPT, str(folder), str(folder.parent / "script.jsonl")]),
        )
        for _ in range(FOLDER_REPEATS)
    ]
    seconds = statistics.median(p[0] for p in processes)
    recognizer = Recognizer(threads=2)
    paths = sorted(folder.iterdir())
    crops = [read_image(p) for p in paths]
    pairs = [  # each repeat times both back to back, so that a slow spell of a shared machine hits both
        (
            measure(lambda: run_images(recognizer, paths, output=folder.parent / "r.jsonl"), 1, 1).median_s,
            measure(lambda: recognizer.classify(crops), 1, 1).median_s,
        )
        for _ in range(FOLDER_REPEATS)
    ]
    flipped = Recognizer(threads=2, tta="flip")
    flip_s = measure(lambda: flipped.classify(crops), FOLDER_REPEATS, 1).median_s
    ray.init(include_dashboard=False, log_to_driver=False)
    try:
        on_ray = measure(lambda: run_ray(paths, output=folder.parent / "ray.jsonl"), 3, 1)
        actors = default_actors(ray.cluster_resources()["CPU"])
    finally:
        ray.shutdown()
    return FolderRate(
        images=len(test),
        seconds=seconds,
        images_per_s=len(test) / seconds,
        in_process_per_s=len(test) / statistics.median(p[0] for p in pairs),
        classify_per_s=len(test) / statistics.median(p[1] for p in pairs),
        classify_flip_per_s=len(test) / flip_s,
        in_process_share=statistics.median(c / r for r, c in pairs),
        script_seconds=statistics.median(p[1] for p in processes),
        script_share=statistics.median(script / run for run, script in processes),
        ray_per_s=len(test) / on_ray.median_s,
        ray_actors=actors,
    )
