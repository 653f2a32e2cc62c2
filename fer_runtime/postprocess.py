"""Model outputs → probabilities: pure NumPy, shared by the runtime and training (which must not pull in the
recognizer's detector and session to get them).

A model's probabilities at temperature T are its trained posterior: classes as likely as its training
targets made them (for a run on votes, the raters' shares). `reweight` moves them to another prior:
divided by the training shares (`defaults.PRIORS["uniform"]`: every class equally likely a priori) or not
(`defaults.PRIORS["trained"]`), renormalised."""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Probabilities [N, C] from logits [N, C] divided by the model's temperature."""
    scaled = logits / temperature
    shifted = scaled - scaled.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def reweight(probabilities: np.ndarray, shares: np.ndarray, power: float) -> np.ndarray:
    """Probabilities [N, C] multiplied by the class shares [C] to `power`, renormalised (power -1: divided)."""
    if power == 0:
        return probabilities
    weighted = probabilities * np.power(shares, power)
    return weighted / weighted.sum(axis=1, keepdims=True)
