"""A compact residual network for 48x48 faces, designed for accuracy per MAC on a CPU.

Stem: conv3x3 at full resolution, then a stride-2 conv to 24x24, so no wide convolution ever runs
at 48x48. Then residual stages, each opened by a block of stride `strides[i]` (by default 24, 12, 6
and 3 pixels across), with optional squeeze-excitation (the seed's planned "attention"). Every
BatchNorm directly follows a convolution inside an nn.Sequential so export can fold it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from fer_train.models.layers import activation


def conv_bn(c_in: int, c_out: int, kernel: int = 3, stride: int = 1, act: str | None = "relu") -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(c_out)]
    if act:
        layers.append(activation(act))
    return nn.Sequential(*layers)


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        hidden = max(8, channels // reduction)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class BasicBlock(nn.Module):
    """conv3x3-BN-act, conv3x3-BN, (SE), + shortcut, act."""

    def __init__(self, c_in: int, c_out: int, stride: int, act: str, se: bool) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv_bn(c_in, c_out, 3, stride, act),
            conv_bn(c_out, c_out, 3, 1, None),
            SqueezeExcite(c_out) if se else nn.Identity(),
        )
        self.shortcut = nn.Identity() if stride == 1 and c_in == c_out else conv_bn(c_in, c_out, 1, stride, None)
        self.act = activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class FerResNet(nn.Module):
    def __init__(
        self,
        num_classes: int = 4,
        stem: int = 32,
        widths: Sequence[int] = (32, 64, 128, 192),
        blocks: Sequence[int] = (1, 2, 2, 1),
        strides: Sequence[int] = (1, 2, 2, 2),
        se: bool = True,
        dropout: float = 0.2,
        activation_fn: str = "relu",
    ) -> None:
        super().__init__()
        if not len(widths) == len(blocks) == len(strides):
            raise ValueError(f"widths, blocks and strides need one entry per stage: {widths}, {blocks}, {strides}")
        self.stem = nn.Sequential(conv_bn(1, stem, 3, 1, activation_fn), conv_bn(stem, widths[0], 3, 2, activation_fn))
        layers: list[nn.Module] = []
        c_in = widths[0]
        for width, count, stage_stride in zip(widths, blocks, strides):
            for i in range(count):
                layers.append(BasicBlock(c_in, width, stage_stride if i == 0 else 1, activation_fn, se))
                c_in = width
        self.stages = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c_in, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))
