"""`fit`: the training loop. Restore (or start) a run, train its epochs, checkpoint after each one."""

from __future__ import annotations

import copy
import json
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from fer_runtime.atomic import write_text
from fer_runtime.preprocess import model_input
from fer_runtime.spec import PreprocessSpec
from fer_train.augment import augment_batch, camera_faces, mix_batch
from fer_train.checkpoint import save_checkpoint
from fer_train.config import CLASS_WEIGHT_POWERS, SELECTED_BY, FitConfig
from fer_train.data import FaceDataset, epoch_order
from fer_train.distill import TeacherEnsemble, distillation
from fer_train.distributed import (
    World,
    barrier,
    join_world,
    leave_world,
    resolve_device,
    shard,
    shared_score,
    summed,
    world_from_env,
    wrap,
)
from fer_train.epoch_record import BestEpoch, EpochRecord, FitResult
from fer_train.models import build_model, count_parameters
from fer_train.optim import PlateauScale, build_optimizer, lr_factor, update_ema
from fer_train.run_folder import restore, summary, write_history
from fer_train.training_data import TrainingData, load_training_data
from fer_train.validation import SCORE_NAMES, selection_metric, validate

log = logging.getLogger(__name__)


def class_weights(config: FitConfig, targets: np.ndarray) -> torch.Tensor | None:
    """Each class's frequency in the training targets (their column sums) to the power -p of the recipe's
    `class_weights` (`CLASS_WEIGHT_POWERS`), scaled to mean 1 over images."""
    power = CLASS_WEIGHT_POWERS[config.class_weights]
    if not power:
        return None
    mass = np.maximum(targets.sum(0).astype(np.float64), 1e-6)
    return torch.tensor(mass**-power * mass.sum() / (mass ** (1 - power)).sum(), dtype=torch.float32)


@dataclass(kw_only=True)
class _Step:
    """What one optimisation step touches."""

    model: nn.Module
    forward: nn.Module  # the model as trained: in DistributedDataParallel when there are several processes
    device: torch.device
    world: World
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    ema: nn.Module | None
    weights: torch.Tensor | None
    generator: torch.Generator
    targets: torch.Tensor  # every training image's target distribution, [N, C]
    plateau: PlateauScale
    soft_targets: torch.Tensor | None = None  # teacher probabilities at the distillation temperature, [N, C]
    teachers: TeacherEnsemble | None = None  # or the teachers themselves, to predict on each augmented batch

    @property
    def evaluated(self) -> nn.Module:
        """The weights that are validated and saved as the model: the average when there is one."""
        return self.ema if self.ema is not None else self.model

    def state_dict(self) -> dict[str, Any]:
        return {
            "state_dict": self.evaluated.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "train_state_dict": self.model.state_dict() if self.ema is not None else None,
            "scheduler": self.scheduler.state_dict(),
            "plateau": self.plateau.state_dict(),
            "rng": {"generator": self.generator.get_state(), "torch": torch.get_rng_state()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["train_state_dict"] if self.ema is not None else state["state_dict"])
        if self.ema is not None:
            self.ema.load_state_dict(state["state_dict"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.plateau.load_state_dict(state["plateau"])
        self.generator.set_state(state["rng"]["generator"])
        torch.set_rng_state(state["rng"]["torch"])


def _train_epoch(
    step: _Step, train: FaceDataset, spec: PreprocessSpec, config: FitConfig, epoch: int, progress: bool
) -> EpochRecord:
    """One epoch of `train` (augmented, in `epoch_order`); returns the epoch's training figures."""
    step.model.train()
    order = shard(epoch_order(train.labels, config.sampling, step.generator), step.world)
    steps = max(1, len(order) // config.batch_size)  # drop the incomplete last batch: one image breaks BatchNorm
    started = time.perf_counter()
    loss_sum, correct, seen = 0.0, 0, 0
    bar = tqdm(
        range(steps),
        desc=f"epoch {epoch}/{config.epochs}",
        unit="batch",
        disable=None if progress else True,
        leave=False,
    )
    for i in bar:
        idx = order[i * config.batch_size : (i + 1) * config.batch_size]
        index = torch.from_numpy(idx).to(step.device)
        pixels = camera_faces(train.pixels[idx], config.augment, step.generator)
        x = torch.from_numpy(model_input(pixels, spec)).to(step.device)
        x = augment_batch(x, spec.std, config.augment, step.generator).contiguous(memory_format=torch.channels_last)
        soft = step.soft_targets[index] if step.soft_targets is not None else None
        loss, logits = _loss(step, x, step.targets[index], soft, config)
        step.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        step.optimizer.step()
        step.scheduler.step()
        if step.ema is not None:
            update_ema(step.ema, step.model, config.ema_decay, step.scheduler.last_epoch)
        loss_sum += float(loss.detach()) * len(idx)
        correct += int((logits.argmax(1).cpu() == torch.from_numpy(train.labels[idx])).sum())
        seen += len(idx)
        bar.set_postfix(
            loss=f"{loss_sum / seen:.3f}",
            acc=f"{correct / seen:.3f}",
            img_s=f"{seen / (time.perf_counter() - started):.0f}",
        )
    bar.close()
    seconds = time.perf_counter() - started
    loss_sum, correct_all, seen_all = summed([loss_sum, correct, seen], step.world, step.device)  # all processes
    correct, seen = int(correct_all), int(seen_all)
    return EpochRecord(
        epoch=epoch,
        lr=step.optimizer.param_groups[0]["lr"],
        train_loss=loss_sum / seen,
        train_accuracy=correct / seen,
        train_seconds=round(seconds, 2),
        images_per_second=round(seen / seconds, 1),
        threads=torch.get_num_threads(),
        world_size=step.world.size,
        device=step.device.type,
    )


def _loss(
    step: _Step, x: torch.Tensor, target: torch.Tensor, soft: torch.Tensor | None, config: FitConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy against the target distributions of one batch (with mixup/CutMix: of the batch blended
    with a shuffled copy of itself, targets mixed alike), plus, with teachers, the temperature-scaled KL
    divergence to their soft predictions."""
    inputs, partner, lam = mix_batch(x, config.mixup_alpha, config.cutmix_alpha, step.generator)
    with torch.autocast(step.device.type, dtype=torch.bfloat16, enabled=config.precision == "bf16"):
        logits = step.forward(inputs).float()
    if lam != 1:
        target = lam * target + (1 - lam) * target[partner]
    loss = F.cross_entropy(logits, target, weight=step.weights, label_smoothing=config.label_smoothing)
    if step.teachers is not None:
        soft = step.teachers.probabilities(inputs)
    elif soft is not None:
        soft = lam * soft + (1 - lam) * soft[partner]
    if soft is None:
        return loss, logits
    t = config.distill_temperature
    kl = F.kl_div(F.log_softmax(logits / t, dim=1), soft, reduction="batchmean") * t * t
    return (1 - config.distill_weight) * loss + config.distill_weight * kl, logits


def _build_step(config: FitConfig, data: TrainingData, device: torch.device, world: World) -> _Step:
    """A new model on `device` with its optimizer, schedule, weight average, loss weights and teachers."""
    model = build_model(config.model, data.spec.num_classes, **config.model_options)
    model = model.to(device, memory_format=torch.channels_last)  # type: ignore[call-overload]
    optimizer = build_optimizer(config, model)
    steps_per_epoch = max(1, len(data.train) // world.size // config.batch_size)  # as in _train_epoch
    plateau = PlateauScale()
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(config, steps_per_epoch, plateau))
    ema = copy.deepcopy(model) if config.ema_decay else None
    soft_teacher, teachers = distillation(config, data.train, data.val, data.spec, device)
    weights = class_weights(config, data.targets)
    return _Step(
        model=model,
        forward=wrap(model, world, device),
        device=device,
        world=world,
        optimizer=optimizer,
        scheduler=scheduler,
        ema=ema,
        weights=weights.to(device) if weights is not None else None,
        generator=torch.Generator().manual_seed(config.seed),
        targets=torch.from_numpy(data.targets).to(device),
        plateau=plateau,
        soft_targets=soft_teacher.to(device) if soft_teacher is not None else None,
        teachers=teachers,
    )


def _epoch(
    step: _Step, data: TrainingData, config: FitConfig, epoch: int, progress: bool
) -> tuple[EpochRecord, float | None]:
    """Train one epoch and validate when due: the epoch's record and the score that picks best.pt (None when
    the epoch was not validated)."""
    started = time.perf_counter()
    record = _train_epoch(step, data.train, data.spec, config, epoch, progress)
    score: float | None = record.train_accuracy
    if data.val is not None:
        score = None
        if (epoch % config.val_every == 0 or epoch == config.epochs) and step.world.main:
            validation = validate(step.evaluated, data.val, data.spec, data.val_votes, data.val_ferplus)
            record = replace(record, validation=validation)
            score = record.figure(SELECTED_BY[config.select_on])
        score = shared_score(score, step.world, step.device)
    if score is not None:
        step.plateau.step(score)
    return replace(record, epoch_seconds=round(time.perf_counter() - started, 2)), score


def fit(config: FitConfig, resume: bool = False, progress: bool = True) -> FitResult:
    """Train `config.model`; checkpoint to `out/last.pt` every epoch and `out/best.pt` on the best
    validation balanced accuracy (original labels or, with `select_on` crowd, the raters' majority;
    training accuracy without validation data). With `resume`, continue from `out/last.pt` (a larger
    `config.epochs` extends the run). Under `torchrun`, each process trains on its shard (see
    `distributed`) and rank 0 writes the run."""
    out = Path(config.out)
    world = world_from_env()
    device = resolve_device(config.device, world)
    join_world(world, device)
    try:
        return _fit(config, out, resume, progress and world.main, device, world)
    finally:
        leave_world(world)


def _fit(config: FitConfig, out: Path, resume: bool, progress: bool, device: torch.device, world: World) -> FitResult:
    state = restore(config, resume)
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    data = load_training_data(config, state)
    step = _build_step(config, data, device, world)
    history: list[EpochRecord] = []
    metric = selection_metric(config)
    best = BestEpoch(0, metric, -1.0)
    if state is not None:
        step.load_state_dict(state)
        history = [EpochRecord.from_json(record) for record in state["history"]]
        best = BestEpoch.from_json(state["best"], metric)
        log.info("resuming %s at epoch %d of %d", out, len(history) + 1, config.epochs)
    provenance = {**data.provenance, "parameters": count_parameters(step.model)}
    if world.main:
        out.mkdir(parents=True, exist_ok=True)
        write_text(out / "config.json", json.dumps(config.to_dict(), indent=2))

    for epoch in range(len(history) + 1, config.epochs + 1):
        record, score = _epoch(step, data, config, epoch, progress)
        history.append(record)
        improved = score is not None and score > best.value
        if improved and score is not None:
            best = BestEpoch(epoch, metric, score)
        payload = {
            "model": {"name": config.model, "options": dict(config.model_options)},
            "spec": data.spec.to_dict(),
            "config": config.to_dict(),
            "provenance": provenance,
            **step.state_dict(),
            "epoch": epoch,
            "best": best.to_json(),
            "history": [record.to_json() for record in history],
        }
        if world.main:
            if improved:
                save_checkpoint(out / "best.pt", payload)
            save_checkpoint(out / "last.pt", payload)
            write_history(out, history)
            log.info(summary(record, config.epochs) + ("  *best*" if improved else ""))
    barrier(world)
    return FitResult(out, history, best.epoch, best.value, SCORE_NAMES[metric], metric)
