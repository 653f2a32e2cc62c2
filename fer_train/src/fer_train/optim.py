"""The optimizer, its learning-rate schedule (warmup, cosine, step, plateau) and the weight average (EMA)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from fer_train.config import FitConfig


def build_optimizer(config: FitConfig, model: nn.Module) -> torch.optim.Optimizer:
    params, wd = model.parameters(), config.weight_decay
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=wd)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=wd)
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=wd, nesterov=True)
    return torch.optim.RMSprop(params, lr=config.lr, momentum=config.momentum, weight_decay=wd)


class PlateauScale:
    """Halves a learning-rate multiplier when the validation score stops improving."""

    def __init__(self, patience: int = 4, factor: float = 0.5) -> None:
        self.patience, self.factor = patience, factor
        self.scale, self.best, self.bad_epochs = 1.0, -math.inf, 0

    def step(self, score: float) -> None:
        if score > self.best:
            self.best, self.bad_epochs = score, 0
            return
        self.bad_epochs += 1
        if self.bad_epochs > self.patience:
            self.scale, self.bad_epochs = self.scale * self.factor, 0

    def state_dict(self) -> dict[str, float]:
        return {"scale": self.scale, "best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.scale, self.best, self.bad_epochs = state["scale"], state["best"], int(state["bad_epochs"])


def lr_factor(config: FitConfig, steps_per_epoch: int, plateau: PlateauScale) -> Callable[[int], float]:
    """Per-step learning-rate multiplier: linear warmup, then the schedule."""
    total = config.epochs * steps_per_epoch
    warmup = int(config.warmup_epochs * steps_per_epoch)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if config.schedule == "cosine":
            progress = min(1.0, (step - warmup) / max(1, total - warmup))
            return 0.5 * (1.0 + math.cos(math.pi * progress))
        if config.schedule == "step":
            return 0.1 ** ((step // steps_per_epoch) // max(1, config.epochs // 3))
        if config.schedule == "plateau":
            return plateau.scale
        return 1.0

    return factor


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float, step: int) -> None:
    """ema ← d·ema + (1-d)·model for float tensors (buffers copied); d ramps up over early steps."""
    d = min(decay, (1 + step) / (10 + step))
    for averaged, current in zip(ema.state_dict().values(), model.state_dict().values()):
        if averaged.dtype.is_floating_point:
            averaged.mul_(d).add_(current, alpha=1 - d)
        else:
            averaged.copy_(current)
