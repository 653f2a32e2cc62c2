"""Training-only augmentation as batched torch ops on normalised [N, 1, H, W] tensors, and mixup/CutMix.

The seed's list: horizontal flip, rotation within ±10°, brightness/contrast jitter; plus a small
translation and optional random erasing. All randomness comes from the generator passed in. `camera_faces`
applies what cameras and detectors do to a face (`fer_train.shifts`) to the uint8 faces, before normalising.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from fer_train.shifts import random_shifts


@dataclass(frozen=True)
class AugmentConfig:
    flip: bool = True
    rotation_deg: float = 10.0
    translate: float = 0.1  # fraction of the image side
    brightness: float = 0.15  # ± shift, in units of pixel/255
    contrast: float = 0.2  # ± relative change around each image's mean
    erase_p: float = 0.0  # probability of erasing one random rectangle
    camera_p: float = 0.0  # probability of one camera or detector shift (fer_train.shifts.random_shifts) per face

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _uniform(n: int, low: float, high: float, g: torch.Generator) -> torch.Tensor:
    """Draws on the CPU generator (the same numbers on any device); callers move them to the batch's."""
    return torch.rand(n, generator=g) * (high - low) + low


def augment_batch(x: torch.Tensor, std: float, config: AugmentConfig, g: torch.Generator) -> torch.Tensor:
    """Return an augmented copy of `x` (normalised with pixel std `std`), same shape and dtype."""
    n = x.shape[0]
    if n == 0:
        return x.clone()
    if config.flip:
        flip = (torch.rand(n, generator=g) < 0.5).to(x.device)
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    if config.rotation_deg or config.translate:
        angle = _uniform(n, -config.rotation_deg, config.rotation_deg, g) * (math.pi / 180.0)
        shift = _uniform(2 * n, -2 * config.translate, 2 * config.translate, g).view(n, 2)
        cos, sin = torch.cos(angle), torch.sin(angle)
        theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1).to(
            x.device, x.dtype
        )
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    if config.contrast or config.brightness:
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        c = _uniform(n, 1 - config.contrast, 1 + config.contrast, g).view(n, 1, 1, 1).to(x.device, x.dtype)
        b = (_uniform(n, -config.brightness, config.brightness, g) / std).view(n, 1, 1, 1).to(x.device, x.dtype)
        x = (x - mean) * c + mean + b
    if config.erase_p > 0:
        x = _random_erase(x, config.erase_p, g)
    return x


def camera_faces(pixels: np.ndarray, config: AugmentConfig, g: torch.Generator) -> np.ndarray:
    """uint8 faces [N, H, W] with `config.camera_p` of them blurred, noisy, compressed, dark, flat, small, turned,
    boxed differently or partly covered (`random_shifts`), seeded from `g`."""
    if config.camera_p <= 0:
        return pixels
    return random_shifts(pixels, config.camera_p, int(torch.randint(0, 2**62, (1,), generator=g)))


def _beta(alpha: float, g: torch.Generator) -> float:
    """A Beta(alpha, alpha) draw from `g` (through a NumPy generator it seeds: torch's Beta takes none)."""
    seed = int(torch.randint(0, 2**62, (1,), generator=g))
    return float(np.random.default_rng(seed).beta(alpha, alpha))


def mix_batch(
    x: torch.Tensor, mixup_alpha: float, cutmix_alpha: float, g: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Blend the batch with a shuffled copy of itself: mixup, CutMix, or (both alphas > 0) one of them at
    random. Returns the mixed batch, the partner of each image and the share `lam` of the original
    (with both alphas 0: the batch itself, every image its own partner, lam 1)."""
    if mixup_alpha == 0 and cutmix_alpha == 0:
        return x, torch.arange(len(x), device=x.device), 1.0
    partner = torch.randperm(len(x), generator=g).to(x.device)
    use_cutmix = cutmix_alpha > 0 and (mixup_alpha == 0 or bool(torch.rand(1, generator=g) < 0.5))
    if not use_cutmix:
        lam = _beta(mixup_alpha, g)
        return lam * x + (1 - lam) * x[partner], partner, lam
    h, w = x.shape[-2:]
    side = math.sqrt(1 - _beta(cutmix_alpha, g))
    bh, bw = round(h * side), round(w * side)
    top = int(torch.randint(0, h - bh + 1, (1,), generator=g))
    left = int(torch.randint(0, w - bw + 1, (1,), generator=g))
    mixed = x.clone()
    mixed[..., top : top + bh, left : left + bw] = x[partner, :, top : top + bh, left : left + bw]
    return mixed, partner, 1 - bh * bw / (h * w)


def _random_erase(x: torch.Tensor, p: float, g: torch.Generator) -> torch.Tensor:
    n, _, h, w = x.shape
    x = x.clone()
    chosen = (torch.rand(n, generator=g) < p).nonzero().flatten().tolist()
    for i in chosen:
        eh = int(torch.randint(h // 8, h // 2 + 1, (1,), generator=g))
        ew = int(torch.randint(w // 8, w // 2 + 1, (1,), generator=g))
        top = int(torch.randint(0, h - eh + 1, (1,), generator=g))
        left = int(torch.randint(0, w - ew + 1, (1,), generator=g))
        x[i, :, top : top + eh, left : left + ew] = torch.randn((1, eh, ew), generator=g).to(x.device, x.dtype)
    return x
