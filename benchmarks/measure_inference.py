"""Batch-1 latency and batch-64 throughput per runtime and thread count; accuracy on a test split."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import torch

from benchmarks.inference_runs import ModelRun, RuntimeSpeed
from benchmarks.timing import measure
from benchmarks.variants import ModelUnderTest
from fer_runtime.postprocess import reweight, softmax
from fer_runtime.preprocess import model_input
from fer_runtime.session import create_session
from fer_train.data import FaceDataset
from fer_train.evaluate import evaluate_predictions
from fer_train.graph_stats import graph_stats
from fer_train.predict import Predictions, Predictor, predict_logits

BATCH = 64


def _runtimes(model: ModelUnderTest, threads: int) -> dict[str, Any]:
    torch.set_num_threads(threads)

    def pytorch(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model.pytorch(torch.from_numpy(x)).numpy()

    runtimes: dict[str, Any] = {"pytorch": pytorch}
    for kind, path in (("ort_float", model.float_graph), ("ort_int8", model.int8_graph)):
        session = create_session(path, threads=threads)
        runtimes[kind] = lambda x, s=session: s.run(None, {model.description.input_name: x})[0]
    return runtimes


def balanced_accuracies(model: ModelUnderTest, test: FaceDataset, threads: int) -> dict[str, float | None]:
    """Each runtime's balanced accuracy on `test`; PyTorch's from the model under test (the checkpoint with
    any prior correction its export folded in), None for random weights."""
    accuracy: dict[str, float | None] = {
        runtime: evaluate_predictions(
            Predictions(test, Predictor(path, threads).probabilities(test.pixels))
        ).metrics.balanced_accuracy
        for runtime, path in (("ort_float", model.float_graph), ("ort_int8", model.int8_graph))
    }
    accuracy["pytorch"] = None
    if model.trained_pytorch:
        description = model.description
        probabilities = softmax(predict_logits(model.pytorch, test.pixels, model.spec).astype(np.float64))
        shares = description.prior_shares()
        if shares is not None:  # under the prior the runtime applies by default, as the graphs' rows are
            probabilities = reweight(probabilities, shares, description.prior_reweighting(description.default_prior()))
        accuracy["pytorch"] = evaluate_predictions(Predictions(test, probabilities)).metrics.balanced_accuracy
    return accuracy


def benchmark_model(model: ModelUnderTest, test: FaceDataset, repeats: int, thread_counts: tuple[int, ...]) -> ModelRun:
    spec = model.spec
    batch = model_input(test.pixels, spec)
    one, many = batch[:1], batch[:BATCH]
    speed: dict[str, RuntimeSpeed] = {}
    for threads in thread_counts:
        for runtime, run in _runtimes(model, threads).items():
            single = measure(partial(run, one), repeats * 10)
            full = measure(partial(run, many), repeats)
            speed[f"{runtime}/{threads}t"] = RuntimeSpeed(
                batch1_ms=single.median_s * 1e3,
                batch1_ms_min=single.min_s * 1e3,
                batch1_ms_max=single.max_s * 1e3,
                batch64_per_s=BATCH / full.median_s,
                batch64_per_s_min=BATCH / full.max_s,
                batch64_per_s_max=BATCH / full.min_s,
            )
    accuracy = balanced_accuracies(model, test, max(thread_counts))
    sizes = {kind: graph_stats(path) for kind, path in (("float", model.float_graph), ("int8", model.int8_graph))}
    return ModelRun(
        name=model.name,
        trained_pytorch_weights=model.trained_pytorch,
        parameters=sizes["float"].parameters,
        macs_per_image=sizes["float"].macs_per_image,
        file_bytes={
            "checkpoint": model.checkpoint.stat().st_size,
            "float": sizes["float"].file_bytes,
            "int8": sizes["int8"].file_bytes,
        },
        speed=speed,
        balanced_accuracy=accuracy,
        accuracy_data=test.source,
    )
