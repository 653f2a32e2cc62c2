"""The seed project's final network (~6.0M parameters on 1x48x48 input, 4 classes)."""

from __future__ import annotations

import torch
from torch import nn

from fer_train.models.layers import activation, pool


def _conv_block(c_in: int, c_out: int, kernel_size: int, act: str, pooling: str, dropout: float) -> nn.Sequential:
    pad = kernel_size // 2
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size, padding=pad, bias=False),
        nn.BatchNorm2d(c_out),
        activation(act),
        nn.Conv2d(c_out, c_out, kernel_size, padding=pad, bias=False),
        nn.BatchNorm2d(c_out),
        activation(act),
        pool(pooling),
        nn.Dropout(dropout),
    )


class SeedCNN(nn.Module):
    """Three [conv-BN-act, conv-BN-act, pool, dropout] blocks (64, 128, 256) and a 512-256 MLP head."""

    def __init__(
        self,
        num_classes: int = 4,
        in_size: int = 48,
        kernel_size: int = 3,
        activation_fn: str = "relu",
        pooling: str = "max",
        conv_dropout: float = 0.25,
        head_dropout: float = 0.5,
    ) -> None:
        super().__init__()
        widths = (64, 128, 256)
        blocks, c_in = [], 1
        for width in widths:
            blocks.append(_conv_block(c_in, width, kernel_size, activation_fn, pooling, conv_dropout))
            c_in = width
        self.features = nn.Sequential(*blocks)
        side = in_size // 2 ** len(widths)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c_in * side * side, 512, bias=False),
            nn.BatchNorm1d(512),
            activation(activation_fn),
            nn.Dropout(head_dropout),
            nn.Linear(512, 256, bias=False),
            nn.BatchNorm1d(256),
            activation(activation_fn),
            nn.Dropout(head_dropout),
            nn.Linear(256, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
