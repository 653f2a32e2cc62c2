"""Fold every BatchNorm into the Conv2d or Linear layer just before it (eval-mode models)."""

from __future__ import annotations

import copy

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

from fer_runtime.errors import FerError


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of `model` in eval mode with each (Conv2d, BatchNorm2d) and (Linear, BatchNorm1d)
    pair inside an nn.Sequential replaced by one layer. A BatchNorm left over is an error."""
    folded = copy.deepcopy(model).eval()
    for container in folded.modules():
        if not isinstance(container, nn.Sequential):
            continue
        names = list(container._modules)
        for first, second in zip(names, names[1:]):
            layer, norm = container._modules[first], container._modules[second]
            if isinstance(layer, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
                container._modules[first] = fuse_conv_bn_eval(layer, norm)
            elif isinstance(layer, nn.Linear) and isinstance(norm, nn.BatchNorm1d):
                container._modules[first] = fuse_linear_bn_eval(layer, norm)
            else:
                continue
            container._modules[second] = nn.Identity()
    leftover = [name for name, m in folded.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if leftover:
        raise FerError(f"BatchNorm layers not preceded by a conv/linear in a Sequential: {', '.join(leftover)}")
    return folded
