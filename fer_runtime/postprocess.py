"""Model outputs → probabilities: pure NumPy, shared by the runtime and training (which must not pull in the
recognizer's detector and session to get them)."""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Probabilities [N, C] from logits [N, C] divided by the model's temperature."""
    scaled = logits / temperature
    shifted = scaled - scaled.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
