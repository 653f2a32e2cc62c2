"""The photo part of the benchmark, shared by `python -m benchmarks` and `python -m benchmarks.detection_docs`:
detectors, crop policy and video on pasted photos, and YuNet's recall per `--detect-size`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.measure_detect_size import detect_size_sweep
from benchmarks.measure_photos import photo_benchmark
from fer_runtime.inputs import read_image
from fer_runtime.spec import PreprocessSpec
from fer_train.data import FaceDataset, load_dataset
from fer_train.quantize import fixed_sample


def val_sample(data: Path, spec: PreprocessSpec, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed sample of FER2013 val faces and labels (choices of crop and defaults never look at the test split)."""
    val = load_dataset(data / "fer2013" / "val.zip", spec)
    picks = fixed_sample(val.paths, size)
    return val.pixels[picks], val.labels[picks]


def photo_part(data: Path, test: FaceDataset, spec: PreprocessSpec, quick: bool) -> dict[str, Any]:
    """`photos` (test faces for the detectors, val faces for the crop policy) and `detect_size` (val faces)."""
    val = val_sample(data, spec, 60 if quick else 500)
    photos = photo_benchmark(
        None, (test.pixels, test.labels), val, data / "photos", 4 if quick else 40, 10 if quick else 150
    )
    background = read_image(data / "photos" / "no-faces.jpg")
    return {"photos": photos, "detect_size": detect_size_sweep(val[0], background, 2 if quick else 30)}
