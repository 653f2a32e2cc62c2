"""Build the one ONNX Runtime session a Recognizer owns, with explicit providers and threads."""

from __future__ import annotations

import os
from collections.abc import Sequence

import onnxruntime as ort

from fer_runtime.errors import FerError


def resolve_providers(names: Sequence[str]) -> list[str]:
    """ONNX Runtime's names for `names`, given in full (`CUDAExecutionProvider`) or short (`cuda`, any case),
    each checked against the providers this onnxruntime has (`onnxruntime.get_available_providers()`)."""
    available = ort.get_available_providers()
    by_short_name = {_short(p): p for p in ort.get_all_providers()}
    wanted = [by_short_name.get(_short(name), name) for name in names]
    unknown = [name for name, full in zip(names, wanted) if full not in available]
    if unknown:
        raise FerError(
            f"execution provider {', '.join(unknown)} not available in this onnxruntime ({ort.__version__}); "
            f"it has {', '.join(_short(p) for p in available)} (CUDA and TensorRT need onnxruntime-gpu)"
        )
    return wanted


def _short(provider: str) -> str:
    return provider.lower().removesuffix("executionprovider")


def create_session(
    model_path: str | os.PathLike[str],
    threads: int | None = None,
    providers: Sequence[str] | None = None,
    spin_wait: bool = True,
) -> ort.InferenceSession:
    """An InferenceSession with all graph optimisations on.

    `threads` sets intra-op threads (None: ONNX Runtime's default, one per core). With `spin_wait` off, those
    threads sleep between runs instead of busy-waiting for the next one: a run starts a little later, but the
    cores are free for the rest of the process (a server's event loop and decoding threads).
    `providers`: execution providers in order of preference, full or short names (default: the CPU's);
    ONNX Runtime runs what a provider cannot on the CPU.
    """
    wanted = resolve_providers(providers or ["cpu"])
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    if not spin_wait:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
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
