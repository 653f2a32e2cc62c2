"""fer_runtime: run exported facial-emotion models with ONNX Runtime on a CPU (no torch).

from fer_runtime import Recognizer
rec = Recognizer()                 # the bundled model
probs = rec.classify(face_crop)    # [N, C] probabilities, columns in rec.classes order
faces = rec.analyze(photo)         # list[Face]: box, label, scores
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Face", "FerError", "PreprocessSpec", "Recognizer", "__version__"]

if TYPE_CHECKING:
    from fer_runtime.errors import FerError
    from fer_runtime.recognizer import Face, Recognizer
    from fer_runtime.spec import PreprocessSpec

_LAZY = {"Recognizer": "recognizer", "Face": "recognizer", "PreprocessSpec": "spec", "FerError": "errors"}


def __getattr__(name: str) -> Any:
    # Loaded on first use, so `fer-run --version` does not import OpenCV or ONNX Runtime.
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"fer_runtime.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'fer_runtime' has no attribute {name!r}")
