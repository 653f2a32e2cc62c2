"""Training on several processes (`torchrun --nproc-per-node N -m fer_train fit ...`) and on a GPU.

`torchrun` starts N copies of `fit` and tells each its rank in the environment. Every process draws the
same epoch order (same seed) and trains on its own shard of it, `batch_size` images a step; DDP averages
the gradients, so one step sees `batch_size` x N images (the learning rate is not scaled). BatchNorm
normalises each process's own batch (SyncBatchNorm needs NCCL on CUDA; on CPU, gloo has none) and DDP
copies rank 0's running statistics to the others at every step, so all ranks and the checkpoint agree.
Only rank 0 validates and writes checkpoints, metrics and plots; it shares the validation score, which
drives the learning-rate plateau, with the others.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from fer_runtime.errors import FerError
from fer_train.config import DEVICES


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (rank 0 of 1 without torchrun)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def resolve_device(name: str, world: World = World()) -> torch.device:
    """`auto`: a CUDA GPU when PyTorch sees one, else the CPU; `cuda` without one is an error."""
    if name not in DEVICES:
        raise FerError(f"unknown device {name!r}; use one of {', '.join(DEVICES)}")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise FerError(f"--device cuda: this PyTorch ({torch.__version__}) sees no CUDA GPU; use --device cpu")
    return torch.device("cuda", world.local_rank % torch.cuda.device_count())


def world_from_env() -> World:
    """This process's place as `torchrun` wrote it into the environment; a world of one without it."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size == 1:
        return World()
    return World(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", "0")))


def join_world(world: World, device: torch.device) -> None:
    """Join the other processes of `world` (gloo on CPU, NCCL on CUDA); nothing to join for one."""
    if world.size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def leave_world(world: World) -> None:
    if world.size > 1 and dist.is_initialized():
        dist.destroy_process_group()


def end_process(world: World) -> None:
    """End a process of several at once, its work written: under gloo, torch's threads can abort the
    interpreter's own shutdown after the process group is gone ("terminate called without an active
    exception", SIGABRT, now and then on a busy 2-core machine; pytorch/pytorch#179291, #190489), which
    torchrun reports as a failed run. A world of one returns and exits as usual."""
    if world.size > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def shard(order: np.ndarray, world: World) -> np.ndarray:
    """This process's share of an epoch's order: every `size`-th image from its rank on, all shards of
    equal length (DDP needs every process to take the same number of steps)."""
    usable = len(order) - len(order) % world.size
    return order[:usable][world.rank :: world.size]


def wrap(model: nn.Module, world: World, device: torch.device) -> nn.Module:
    """`model` in DistributedDataParallel when there are several processes (it averages gradients)."""
    if world.size == 1:
        return model
    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def summed(values: list[float], world: World, device: torch.device) -> list[float]:
    """`values` added up over all processes (the epoch's loss sums and counts)."""
    if world.size == 1:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return tensor.tolist()


def shared_score(score: float | None, world: World, device: torch.device) -> float | None:
    """Rank 0's validation score, on every process."""
    if world.size == 1:
        return score
    tensor = torch.tensor([np.nan if score is None else score], dtype=torch.float64, device=device)
    dist.broadcast(tensor, 0)
    value = float(tensor.item())
    return None if np.isnan(value) else value


def barrier(world: World) -> None:
    if world.size > 1:
        dist.barrier()
