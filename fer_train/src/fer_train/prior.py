"""The prior correction `export --prior-correction A`: the class shares a run trained towards (the raters'
shares, for a run on votes), and a copy of a model whose last layer's bias is shifted so that its
probabilities at temperature T come out divided by prior^A (renormalised):

    softmax((logits - A·T·log prior) / T) ∝ softmax(logits / T) / prior^A

A = 1 is the Bayes correction to equally likely classes; the runtime needs nothing new."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from fer_runtime.errors import FerError
from fer_train.checkpoint import LoadedModel
from fer_train.config import FitConfig
from fer_train.data import load_dataset
from fer_train.training_data import apply_votes

SHIFT_TOLERANCE = 1e-4


def training_prior(loaded: LoadedModel, cache_dir: str | None) -> np.ndarray:
    """The mean of the run's training targets (one-hot labels mixed with its votes as the run mixed them),
    rebuilt from the training data and votes its checkpoint recorded."""
    config = FitConfig.from_dict(loaded.checkpoint["config"])
    for what, path in (("training data", config.data), ("votes", config.votes)):
        if path is not None and not Path(path).exists():
            raise FerError(f"the {what} the run recorded ({path}) is not here: the prior correction needs it")
    train = load_dataset(config.data, loaded.spec, cache_dir or config.cache_dir)
    targets = apply_votes(config, train, None)[1]
    return targets.astype(np.float64).mean(0)


def shift_logits(model: nn.Module, shift: np.ndarray, probe: torch.Tensor) -> nn.Module:
    """A copy of `model` whose last Linear layer's bias is moved by `shift`, checked on `probe` to move the
    logits by exactly that (so the layer is the output)."""
    shifted = copy.deepcopy(model).eval()
    linears = [m for m in shifted.modules() if isinstance(m, nn.Linear) and m.bias is not None]
    if not linears or linears[-1].out_features != len(shift):
        raise FerError("the model has no output Linear layer with a bias to fold the prior correction into")
    output = linears[-1]
    with torch.no_grad():
        output.bias.add_(torch.as_tensor(shift, dtype=output.bias.dtype))
        moved = (shifted(probe) - model.eval()(probe)).numpy()
    if np.abs(moved - shift).max() > SHIFT_TOLERANCE:
        raise FerError("the model's last Linear layer is not its output: the prior correction cannot be folded")
    return shifted


def prior_offset(prior: np.ndarray, power: float) -> np.ndarray:
    """The correction in units of logits / T: softmax(logits / T - offset) ∝ softmax(logits / T) / prior^power.
    Folded into a model as `shift_logits(model, -T * offset, probe)`."""
    return power * np.log(prior)


def describe(correction: dict[str, Any]) -> str:
    """A recorded correction in words: "(angry 0.109, happy 0.351, ...)^1"."""
    shares = ", ".join(f"{c} {p:.3f}" for c, p in correction["prior"].items())
    return f"({shares})^{correction['power']:g}"
