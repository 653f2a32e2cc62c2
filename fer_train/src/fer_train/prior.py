"""The class prior: the class shares a run trained towards (the raters' shares, for a run on votes), which
export records so that the runtime can divide the probabilities by them (`fer_runtime.postprocess.reweight`):

    softmax(logits / T) / prior^A ∝ softmax(logits / T - A·log prior)

A = 1 is the Bayes correction to equally likely classes. `shift_logits` folds such a division into a model's
last layer, as exports before the prior was data did (the benchmark's PyTorch rows of those graphs)."""

from __future__ import annotations

import copy
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from fer_runtime.class_prior import ClassPrior, power_of
from fer_runtime.errors import FerError
from fer_runtime.model_files import ModelDescription
from fer_runtime.spec import PreprocessSpec
from fer_train.checkpoint import LoadedModel
from fer_train.config import CLASS_WEIGHT_POWERS, FitConfig
from fer_train.data import load_dataset
from fer_train.data_root import locate
from fer_train.derived_graphs import derived_in, stage_derived, staged_sources
from fer_train.onnx_graph import embed_all, publish, read_exported
from fer_train.training_data import apply_votes, labels_from, run_votes

SHIFT_TOLERANCE = 1e-4


def training_shares(config: FitConfig, spec: PreprocessSpec, cache_dir: str | None) -> np.ndarray:
    """The mean of a run's training targets (one-hot labels mixed with its votes as the run mixed them),
    rebuilt from the training data and votes its recipe names."""
    for what, path in (("training data", config.data), ("votes", config.votes)):
        if path is not None and not locate(path).exists():
            raise FerError(f"the {what} the run recorded ({path}) is not here: the class prior needs it")
    table = run_votes(config)
    train = load_dataset(config.data, spec, cache_dir or config.cache_dir, labels_from=labels_from(config, table))
    return apply_votes(config, table, train, None)[1].astype(np.float64).mean(0)


def weighted_out(config: FitConfig) -> float:
    """The power of the training shares a run already divided out of what the model learned: balanced class
    weights (inverse frequency) make it learn as if every class were equally likely (1), halfway weights 0.5,
    none 0; balanced sampling (every class drawn equally often, by its folder label) adds about 1."""
    return CLASS_WEIGHT_POWERS[config.class_weights] + (1.0 if config.sampling == "balanced" else 0.0)


def recorded_prior(
    recipe: dict[str, Any] | None, spec: PreprocessSpec, cache_dir: str | None, default: str = "trained"
) -> ClassPrior:
    """A run's class prior as a description records it, rebuilt from its recipe (`FitConfig.to_dict`): the
    training targets' class shares and the power of them the model already divides out (`weighted_out`)."""
    if not recipe:
        raise FerError("no recipe recorded, so the training class shares cannot be rebuilt")
    config = FitConfig.from_dict(recipe)
    shares = training_shares(config, spec, cache_dir)
    rounded = dict(zip(spec.classes, np.round(shares, 4).tolist()))
    return ClassPrior(shares=rounded, in_graph=weighted_out(config)).with_default(default)


def training_prior(loaded: LoadedModel, cache_dir: str | None) -> np.ndarray:
    """`training_shares` of a checkpoint's run."""
    return training_shares(FitConfig.from_dict(loaded.checkpoint["config"]), loaded.spec, cache_dir)


def set_prior(
    *, export_dir: str | os.PathLike[str], name: str, default: str, cache_dir: str | None = None
) -> ModelDescription:
    """Record in an exported model (its JSON and every graph) the class shares its training targets had (rebuilt
    from the recipe's data when not yet recorded) and which prior the runtime applies by default."""
    power_of(default)
    folder = Path(export_dir)
    description = read_exported(folder, name)
    prior = description.prior or recorded_prior(description.provenance.get("recipe"), description.spec, cache_dir)
    updated = replace(description, prior=prior.with_default(default))
    with tempfile.TemporaryDirectory(dir=folder, prefix=".prior-") as tmp:
        staged = staged_sources(description, folder, Path(tmp))
        embed_all(updated, staged)
        details = stage_derived(updated, staged, derived_in(description))  # the ORT format carries it too
        return publish(folder, updated, staged, details)


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


def describe(prior: ClassPrior) -> str:
    """A description's class prior in words: the training shares, and which choice the runtime makes."""
    shares = ", ".join(f"{c} {p:.3f}" for c, p in prior.shares.items())
    folded = f"; the graph already divides by them to the power {prior.in_graph:g}" if prior.in_graph else ""
    return f"training shares {shares}{folded}; by default the probabilities are {prior.default!r}"
