"""Checkpoints: one dict of tensors and plain values, written atomically, read with weights_only."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fer_runtime.atomic import atomic_path
from fer_runtime.errors import FerError
from fer_runtime.spec import PreprocessSpec
from fer_train.models import rebuild_model

CHECKPOINT_FORMAT = 1


def save_checkpoint(path: str | os.PathLike[str], payload: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save({"format": CHECKPOINT_FORMAT, **payload}, tmp)


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    source = Path(path)
    if not source.is_file():
        raise FerError(f"checkpoint not found: {source}")
    try:
        payload = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged or foreign file
        raise FerError(f"{source}: not a readable fer checkpoint ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise FerError(f"{source}: not a fer checkpoint (format {CHECKPOINT_FORMAT} expected)")
    return payload


@dataclass(frozen=True)
class LoadedModel:
    model: nn.Module
    spec: PreprocessSpec
    checkpoint: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.checkpoint["model"]["name"])


def load_model(path: str | os.PathLike[str]) -> LoadedModel:
    """A checkpoint's model in eval mode, with its preprocessing spec."""
    payload = read_checkpoint(path)
    spec = PreprocessSpec.from_dict(payload["spec"])
    config = payload["model"]
    model = rebuild_model(config["name"], spec.num_classes, config["options"])
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return LoadedModel(model, spec, payload)
