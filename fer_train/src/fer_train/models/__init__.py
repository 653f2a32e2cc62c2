"""Model registry: `build_model(name, num_classes, **options)` by name, as used by `--model NAME`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

from fer_runtime.errors import FerError
from fer_train.models.face_descriptor import FaceDescriptorNet
from fer_train.models.fer_resnet import FerResNet
from fer_train.models.seed_cnn import SeedCNN

MODELS: dict[str, Callable[..., nn.Module]] = {
    "seed_cnn": SeedCNN,
    "fer_resnet": FerResNet,
    "face_descriptor": FaceDescriptorNet,
}


def build_model(name: str, num_classes: int, **options: Any) -> nn.Module:
    if name not in MODELS:
        raise FerError(f"unknown model {name!r}; available: {', '.join(sorted(MODELS))}")
    try:
        return MODELS[name](num_classes=num_classes, **options)
    except (TypeError, ValueError) as exc:
        raise FerError(f"cannot build model {name!r} with options {options}: {exc}") from None


INIT_ONLY_OPTIONS = frozenset({"pretrained"})  # where a model's first weights came from, not its architecture


def rebuild_model(name: str, num_classes: int, options: Mapping[str, Any]) -> nn.Module:
    """The architecture a checkpoint or an export recorded, ready for its saved weights: initialisation-only
    options are left out, so it rebuilds where the weights it started from are not installed."""
    return build_model(name, num_classes, **{k: v for k, v in options.items() if k not in INIT_ONLY_OPTIONS})


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
