"""What the Python runtime makes of a set of images, written for the web page's parity tests (`web/test/`):
each image's RGBA pixels (as a canvas gives them), the detections, the model inputs of each detected face and
the `fer-run --json` record. The JavaScript pipeline must reproduce them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from fer_runtime.preprocess import decode_image, to_bgr
from fer_runtime.recognizer import Recognizer
from fer_runtime.results import image_record
from fer_runtime.timeline import TimelineBuilder
from fer_runtime.video import run_stream
from fer_train.data import load_dataset
from fer_train.quantize import fixed_sample
from tests.degenerate import degenerate_images

CROPS = 100  # Test_250 face crops in the parity set
OPTIONS = {"prior": "halfway", "min_confidence": 0.6, "tta": "flip"}  # a second recognizer's options, to hold those too


def _rotated(image: np.ndarray, degrees: float) -> np.ndarray:
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def parity_images(data: Path) -> list[tuple[str, np.ndarray]]:
    """Named BGR images: Test_250 crops, whole photos (one face, none), the face photo enlarged past the
    detector's longest side and turned, the first frame of each video, and strips of extreme aspect
    (`tests.degenerate`)."""
    test = load_dataset(data / "seed" / "Test_250.zip", Recognizer().spec)
    images = [(Path(test.paths[i]).name, to_bgr(test.pixels[i])) for i in fixed_sample(test.paths, CROPS)]
    photos = data / "photos"
    justin = decode_image((photos / "justin.jpg").read_bytes())
    images += [
        ("justin.jpg", justin),
        ("no-faces.jpg", decode_image((photos / "no-faces.jpg").read_bytes())),
        ("justin-x3.png", cv2.resize(justin, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)),
        ("justin-turned.png", _rotated(justin, 20)),
    ]
    for video in ("test.mp4", "woman2.mp4"):
        capture = cv2.VideoCapture(str(photos / video))
        ok, frame = capture.read()
        capture.release()
        if ok:
            images.append((f"{video}-frame0.png", frame))
    return images + [(name, to_bgr(image)) for name, image in degenerate_images(justin)]


def write_parity_cases(data: Path, out: Path) -> dict[str, Any]:
    """Write `cases.json` and one `<i>.rgba` and `<i>.input` (float32 model inputs) per image into `out`."""
    recognizer = Recognizer(prefer_int8=False)  # the graph the page ships (web/build.mjs)
    other = Recognizer(prefer_int8=False, **OPTIONS)  # type: ignore[arg-type]
    cases = []
    for i, (name, image) in enumerate(parity_images(data)):
        rgba = cv2.cvtColor(image, cv2.COLOR_BGR2RGBA)
        (out / f"{i}.rgba").write_bytes(rgba.tobytes())
        prepared = recognizer.prepare(image)
        (out / f"{i}.input").write_bytes(prepared.batch.astype(np.float32).tobytes())
        cases.append(
            {
                "name": name,
                "width": int(image.shape[1]),
                "height": int(image.shape[0]),
                "rgba": f"{i}.rgba",
                "input": f"{i}.input",
                "detections": [
                    {"box": list(d.box), "score": d.score, "landmarks": d.landmarks and [list(p) for p in d.landmarks]}
                    for d in prepared.detections
                ],
                "record": image_record(name, recognizer.analyze(image)),
                "record_options": image_record(name, other.analyze(image)),
            }
        )
    index = {"model": str(recognizer.model_path), "options": OPTIONS, "cases": cases}
    (out / "cases.json").write_text(json.dumps(index), encoding="utf-8")
    return index


def write_timeline_case(data: Path, out: Path) -> dict[str, Any]:
    """The shared short clip through `fer-run --video ... --output timeline_frames.jsonl --summary timeline`:
    the frame records the page's timeline is fed and the summary it must give (`timeline.json`)."""
    recognizer = Recognizer(prefer_int8=False)
    builder = TimelineBuilder(recognizer.classes)
    run_stream(
        recognizer, str(data / "photos" / "test.mp4"), output=out / "timeline_frames.jsonl", on_frame=builder.add
    )
    summary = builder.summary().to_json()
    (out / "timeline.json").write_text(json.dumps(summary), encoding="utf-8")
    return summary


def write_y4m(video: Path, target: Path) -> int:
    """The video's frames as an uncompressed YUV4MPEG2 (4:2:0) file, what Chromium's fake camera plays; the count."""
    capture = cv2.VideoCapture(str(video))
    fps = round(capture.get(cv2.CAP_PROP_FPS) or 25)
    count = 0
    with target.open("wb") as out:
        while (read := capture.read())[0]:
            frame = read[1][: read[1].shape[0] // 2 * 2, : read[1].shape[1] // 2 * 2]
            if not count:
                out.write(f"YUV4MPEG2 W{frame.shape[1]} H{frame.shape[0]} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
            out.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
            count += 1
    capture.release()
    return count
