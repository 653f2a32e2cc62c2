"""What face-api's networks share: TensorFlow's "same" padding (the extra row and column go after, not
before, as PyTorch's symmetric padding would put them) and the input face-api expects, built from fer's
normalised grayscale batch."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

MEAN_RGB = (122.782, 117.001, 104.298)  # what face-api subtracts from each 0-255 channel before dividing by 255


def tf_same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """`x` padded with zeros as TensorFlow pads for a "same" convolution of `kernel` at `stride`."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):
        total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


def face_api_input(x: torch.Tensor, *, mean: float, std: float, size: int) -> torch.Tensor:
    """fer's [N, 1, H, W] batch, normalised as (pixel / 255 - mean) / std, as face-api's [N, 3, size, size]:
    the gray face in all three channels, resized bilinearly, less face-api's channel means, over 255."""
    pixels = x * std + mean
    if pixels.shape[-2:] != (size, size):
        pixels = F.interpolate(pixels, size=(size, size), mode="bilinear", align_corners=False)
    means = torch.tensor(MEAN_RGB, dtype=x.dtype, device=x.device).view(1, 3, 1, 1) / 255
    return pixels.expand(-1, 3, -1, -1) - means
