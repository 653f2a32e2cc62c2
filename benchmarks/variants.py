"""The model variants benchmarked: PyTorch eager, ONNX Runtime float and int8, for each model."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fer_runtime.model_files import DEFAULT_MODEL_NAME, ModelDescription, bundled_model_dir, read_description
from fer_runtime.spec import PreprocessSpec
from fer_train.checkpoint import load_model, save_checkpoint
from fer_train.export import export_checkpoint
from fer_train.models import build_model
from fer_train.prior import prior_offset, shift_logits


@dataclass(frozen=True)
class ModelUnderTest:
    name: str
    pytorch: nn.Module
    checkpoint: Path  # what the PyTorch cold-start script loads
    float_graph: Path
    int8_graph: Path
    spec: PreprocessSpec
    trained_pytorch: bool  # False: random weights of the same architecture (speed only)
    description: ModelDescription


def random_checkpoint(
    folder: Path, model_name: str, options: dict[str, Any], spec: PreprocessSpec, stem: str | None = None
) -> Path:
    torch.manual_seed(0)
    model = build_model(model_name, spec.num_classes, **options).eval()
    path = folder / f"{stem or model_name}.pt"
    save_checkpoint(
        path,
        {"model": {"name": model_name, "options": options}, "spec": spec.to_dict(), "state_dict": model.state_dict()},
    )
    return path


def _as_exported(model: nn.Module, description: ModelDescription) -> nn.Module:
    """The checkpoint's model with the division by the class prior that its export folded into the graphs,
    if any (exports before the prior was data did)."""
    prior, shares = description.prior, description.prior_shares()
    if prior is None or shares is None or not prior.in_graph:
        return model
    spec = description.spec
    offset = prior_offset(shares, prior.in_graph)
    return shift_logits(
        model, -description.temperature * offset, torch.zeros(1, spec.channels, spec.height, spec.width)
    )


def shipped_model(work: Path, checkpoint: Path | None, name: str = DEFAULT_MODEL_NAME) -> ModelUnderTest:
    """A bundled model's graphs, with `checkpoint` for its PyTorch rows (else random weights, speed only)."""
    folder = bundled_model_dir()
    description = read_description(folder / f"{name}.json")
    spec, architecture = description.spec, description.model
    trained = checkpoint is not None
    path = checkpoint or random_checkpoint(work, architecture["name"], architecture["options"], spec, name)
    return ModelUnderTest(
        f"{'shipped' if name == DEFAULT_MODEL_NAME else name} ({architecture['name']})",
        _as_exported(load_model(path).model, description) if trained else load_model(path).model,
        path,
        folder / f"{name}.onnx",
        folder / f"{name}.int8.onnx",
        spec,
        trained,
        description,
    )


def seed_model(work: Path, checkpoint: Path | None, calib: str, spec: PreprocessSpec) -> ModelUnderTest:
    trained = checkpoint is not None
    path = checkpoint or random_checkpoint(work, "seed_cnn", {}, spec)
    out = Path(tempfile.mkdtemp(dir=work))
    result = export_checkpoint(path, out, "seed_cnn", quantize=True, calib=calib)
    assert result.int8_path is not None
    return ModelUnderTest(
        "seed_cnn",
        load_model(path).model,
        path,
        result.float_path,
        result.int8_path,
        load_model(path).spec,
        trained,
        result.description,
    )
