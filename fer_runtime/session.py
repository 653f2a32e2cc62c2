"""Build the one ONNX Runtime session a Recognizer owns, with explicit providers and threads."""

from __future__ import annotations

import os
from collections.abc import Sequence

import onnxruntime as ort

from fer_runtime.errors import FerError


def create_session(
    model_path: str | os.PathLike[str],
    threads: int | None = None,
    providers: Sequence[str] | None = None,
) -> ort.InferenceSession:
    """An InferenceSession with all graph optimisations on.

    `threads` sets intra-op threads (None: ONNX Runtime's default, one per core).
    `providers` must be among `onnxruntime.get_available_providers()`.
    """
    available = ort.get_available_providers()
    wanted = list(providers) if providers else ["CPUExecutionProvider"]
    unknown = [p for p in wanted if p not in available]
    if unknown:
        raise FerError(
            f"execution provider(s) {', '.join(unknown)} not available; this onnxruntime has {', '.join(available)}"
        )
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    if threads is not None:
        if threads < 1:
            raise FerError(f"threads must be >= 1, got {threads}")
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(os.fspath(model_path), sess_options=options, providers=wanted)
    except Exception as exc:  # onnxruntime raises its own untyped errors for a bad graph file
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FerError(f"{model_path}: not a loadable ONNX model ({first_line[:200]})") from None
