"""`fit`: train a registered model on a face dataset with checkpoints every epoch and resume."""

from __future__ import annotations

import copy
import csv
import io
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from fer_runtime.atomic import TEMPORARIES, write_text
from fer_runtime.errors import FerError
from fer_runtime.preprocess import model_input
from fer_runtime.spec import DEFAULT_CLASSES, PreprocessSpec
from fer_train.augment import AugmentConfig, augment_batch
from fer_train.checkpoint import read_checkpoint, save_checkpoint
from fer_train.data import FaceDataset, load_dataset, pixel_stats
from fer_train.distill import DISTILL_VIEWS, TeacherEnsemble, distillation
from fer_train.evaluate import predict_logits
from fer_train.metrics import compute_metrics
from fer_train.models import build_model, count_parameters
from fer_train.plots import plot_curves

log = logging.getLogger(__name__)

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULES = ("plateau", "cosine", "step", "none")
PRECISIONS = ("fp32", "bf16")
SAMPLINGS = ("shuffle", "balanced")


@dataclass(frozen=True)
class FitConfig:
    data: str
    out: str
    val: str | None = None
    model: str = "seed_cnn"
    model_options: dict[str, Any] = field(default_factory=dict)
    classes: tuple[str, ...] = DEFAULT_CLASSES
    epochs: int = 40
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "plateau"
    warmup_epochs: float = 0.0
    label_smoothing: float = 0.0
    class_weights: str = "none"  # "none" or "balanced" (inverse class frequency)
    sampling: str = "shuffle"    # "balanced": each epoch draws classes equally often (with replacement)
    ema_decay: float = 0.0       # > 0: evaluate and export an exponential moving average of the weights
    val_every: int = 1           # validate every N epochs (and after the last one)
    mixup_alpha: float = 0.0     # > 0: mix pairs of training images with weight ~ Beta(alpha, alpha)
    cutmix_alpha: float = 0.0    # > 0: paste a box of a partner image covering ~ Beta(alpha, alpha) of the face
    teachers: tuple[str, ...] = ()  # checkpoints whose averaged soft predictions the student also learns
    distill_weight: float = 0.5     # share of the distillation term in the loss when teachers are given
    distill_temperature: float = 4.0
    distill_views: str = "clean"    # "augmented": teachers predict on each batch as the student sees it
    precision: str = "fp32"      # "bf16": training forward passes in bfloat16 autocast (weights stay fp32)
    augment: AugmentConfig = AugmentConfig()
    seed: int = 0
    threads: int | None = None
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise FerError(f"unknown optimizer {self.optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise FerError(f"unknown schedule {self.schedule!r}; choose from {', '.join(SCHEDULES)}")
        if self.precision not in PRECISIONS:
            raise FerError(f"unknown precision {self.precision!r}; choose from {', '.join(PRECISIONS)}")
        if self.class_weights not in ("none", "balanced"):
            raise FerError("class_weights must be 'none' or 'balanced'")
        if self.sampling not in SAMPLINGS:
            raise FerError(f"unknown sampling {self.sampling!r}; choose from {', '.join(SAMPLINGS)}")
        if self.distill_views not in DISTILL_VIEWS:
            raise FerError(f"unknown distill_views {self.distill_views!r}; choose from {', '.join(DISTILL_VIEWS)}")
        if not 0 <= self.distill_weight <= 1 or self.distill_temperature <= 0:
            raise FerError("distill_weight must be in [0, 1] and distill_temperature > 0")
        if self.mixup_alpha < 0 or self.cutmix_alpha < 0:
            raise FerError("mixup_alpha and cutmix_alpha must be >= 0")
        if not 0 <= self.ema_decay < 1:
            raise FerError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.epochs < 1 or self.batch_size < 1 or self.val_every < 1 or not self.lr > 0:
            raise FerError("epochs, batch size and val_every must be >= 1 and the learning rate > 0")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["classes"] = list(self.classes)
        data["teachers"] = list(self.teachers)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FitConfig:
        data = dict(data)
        data["classes"] = tuple(data["classes"])
        data["teachers"] = tuple(data.get("teachers", ()))
        data["augment"] = AugmentConfig(**data["augment"])
        return cls(**data)


@dataclass(frozen=True)
class FitResult:
    out: Path
    history: list[dict[str, Any]]
    best_epoch: int
    best_balanced_accuracy: float


def _optimizer(config: FitConfig, model: nn.Module) -> torch.optim.Optimizer:
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


def _lr_factor(config: FitConfig, steps_per_epoch: int, plateau: PlateauScale) -> Callable[[int], float]:
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
def _update_ema(ema: nn.Module, model: nn.Module, decay: float, step: int) -> None:
    """ema ← d·ema + (1-d)·model for float tensors (buffers copied); d ramps up over early steps."""
    d = min(decay, (1 + step) / (10 + step))
    for averaged, current in zip(ema.state_dict().values(), model.state_dict().values()):
        if averaged.dtype.is_floating_point:
            averaged.mul_(d).add_(current, alpha=1 - d)
        else:
            averaged.copy_(current)


def _weights(config: FitConfig, train: FaceDataset) -> torch.Tensor | None:
    if config.class_weights == "none":
        return None
    counts = np.bincount(train.labels, minlength=len(train.classes)).astype(np.float64)
    return torch.tensor(counts.sum() / (len(counts) * np.maximum(counts, 1)), dtype=torch.float32)


def epoch_order(labels: np.ndarray, sampling: str, generator: torch.Generator) -> np.ndarray:
    """The training images of one epoch, in order: a permutation of all of them ("shuffle"), or as many
    draws with replacement, each class equally likely and each image of a class equally likely ("balanced")."""
    if sampling == "shuffle":
        return torch.randperm(len(labels), generator=generator).numpy()
    counts = np.bincount(labels)
    chance = torch.from_numpy(1.0 / counts[labels])
    return torch.multinomial(chance, len(labels), replacement=True, generator=generator).numpy()


def _write_history(out: Path, history: list[dict[str, Any]]) -> None:
    write_text(out / "metrics.json", json.dumps(history, indent=2))
    columns = list(dict.fromkeys(k for record in history for k, v in record.items() if not isinstance(v, dict)))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(history)
    write_text(out / "metrics.csv", buffer.getvalue())
    plot_curves(history, out / "curves.png")


@dataclass
class _Step:
    """What one optimisation step touches."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    ema: nn.Module | None
    weights: torch.Tensor | None
    generator: torch.Generator
    soft_targets: torch.Tensor | None = None  # teacher probabilities at the distillation temperature, [N, C]
    teachers: TeacherEnsemble | None = None   # or the teachers themselves, to predict on each augmented batch


def _train_epoch(step: _Step, train: FaceDataset, spec: PreprocessSpec, config: FitConfig, epoch: int,
                 progress: bool) -> dict[str, Any]:
    """One epoch of `train` (augmented, in `epoch_order`); returns the epoch's training figures."""
    step.model.train()
    order = epoch_order(train.labels, config.sampling, step.generator)
    steps = max(1, len(train) // config.batch_size)  # drop the incomplete last batch: one image breaks BatchNorm
    started = time.perf_counter()
    loss_sum, correct, seen = 0.0, 0, 0
    bar = tqdm(range(steps), desc=f"epoch {epoch}/{config.epochs}", unit="batch",
               disable=None if progress else True, leave=False)
    for i in bar:
        idx = order[i * config.batch_size:(i + 1) * config.batch_size]
        x = torch.from_numpy(model_input(train.pixels[idx], spec))
        x = augment_batch(x, spec.std, config.augment, step.generator).contiguous(memory_format=torch.channels_last)
        y = torch.from_numpy(train.labels[idx])
        soft = step.soft_targets[idx] if step.soft_targets is not None else None
        loss, logits = _loss(step, x, y, soft, config)
        step.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        step.optimizer.step()
        step.scheduler.step()
        if step.ema is not None:
            _update_ema(step.ema, step.model, config.ema_decay, step.scheduler.last_epoch)
        loss_sum += float(loss.detach()) * len(idx)
        correct += int((logits.argmax(1) == y).sum())
        seen += len(idx)
        bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}",
                        img_s=f"{seen / (time.perf_counter() - started):.0f}")
    bar.close()
    seconds = time.perf_counter() - started
    return {"epoch": epoch, "lr": step.optimizer.param_groups[0]["lr"], "train_loss": loss_sum / seen,
            "train_accuracy": correct / seen, "train_seconds": round(seconds, 2),
            "images_per_second": round(seen / seconds, 1), "threads": torch.get_num_threads()}


def _beta(alpha: float) -> float:
    a = torch.tensor(alpha)
    return float(torch.distributions.Beta(a, a).sample())


def mix_batch(x: torch.Tensor, config: FitConfig, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Blend the batch with a shuffled copy of itself: mixup, CutMix, or (both on) one of them at random.
    Returns the mixed batch, the partner of each image and the share `lam` of the original label
    (with both alphas 0: the batch itself, every image its own partner, lam 1)."""
    if config.mixup_alpha == 0 and config.cutmix_alpha == 0:
        return x, torch.arange(len(x)), 1.0
    partner = torch.randperm(len(x), generator=g)
    use_cutmix = config.cutmix_alpha > 0 and (config.mixup_alpha == 0 or bool(torch.rand(1, generator=g) < 0.5))
    if not use_cutmix:
        lam = _beta(config.mixup_alpha)
        return lam * x + (1 - lam) * x[partner], partner, lam
    h, w = x.shape[-2:]
    side = math.sqrt(1 - _beta(config.cutmix_alpha))
    bh, bw = round(h * side), round(w * side)
    top = int(torch.randint(0, h - bh + 1, (1,), generator=g))
    left = int(torch.randint(0, w - bw + 1, (1,), generator=g))
    mixed = x.clone()
    mixed[..., top:top + bh, left:left + bw] = x[partner, :, top:top + bh, left:left + bw]
    return mixed, partner, 1 - bh * bw / (h * w)


def _loss(step: _Step, x: torch.Tensor, y: torch.Tensor, soft: torch.Tensor | None,
          config: FitConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of one batch (with mixup/CutMix: of the batch blended with a shuffled copy of itself),
    plus, with teachers, the temperature-scaled KL divergence to their soft predictions."""
    def ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, target, weight=step.weights, label_smoothing=config.label_smoothing)

    def forward(batch: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.precision == "bf16"):
            return step.model(batch).float()

    inputs, partner, lam = mix_batch(x, config, step.generator)
    logits = forward(inputs)
    loss = ce(logits, y) if lam == 1 else lam * ce(logits, y) + (1 - lam) * ce(logits, y[partner])
    if step.teachers is not None:
        soft = step.teachers.probabilities(inputs)
    elif soft is not None:
        soft = lam * soft + (1 - lam) * soft[partner]
    if soft is None:
        return loss, logits
    t = config.distill_temperature
    kl = F.kl_div(F.log_softmax(logits / t, dim=1), soft, reduction="batchmean") * t * t
    return (1 - config.distill_weight) * loss + config.distill_weight * kl, logits


def _validate(model: nn.Module, val: FaceDataset, spec: PreprocessSpec) -> dict[str, Any]:
    logits = predict_logits(model, val.pixels, spec)
    metrics = compute_metrics(val.labels, logits.argmax(1), spec.classes)
    return {"val_loss": float(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(val.labels))),
            "val_accuracy": metrics.accuracy, "val_balanced_accuracy": metrics.balanced_accuracy,
            "val_recall": metrics.per_class_recall}


def _summary(record: dict[str, Any], epochs: int) -> str:
    text = f"epoch {record['epoch']}/{epochs}  loss {record['train_loss']:.4f}  train acc {record['train_accuracy']:.4f}"
    if "val_accuracy" in record:
        text += f"  val acc {record['val_accuracy']:.4f}  val bal acc {record['val_balanced_accuracy']:.4f}"
    return text + f"  {record['images_per_second']:.0f} img/s  {record['epoch_seconds']:.0f}s"


def _load_split(path: str, classes: tuple[str, ...], spec: PreprocessSpec, cache_dir: str | None,
                role: str) -> FaceDataset:
    dataset = load_dataset(path, classes, spec, cache_dir)
    counts = ", ".join(f"{k} {v}" for k, v in dataset.counts().items())
    log.info("%s %s: %d images (%s)", role, path, len(dataset), counts)
    empty = [k for k, v in dataset.counts().items() if v == 0]
    if empty:
        raise FerError(f"{path}: class(es) {', '.join(empty)} have no images")
    return dataset


def fit(config: FitConfig, resume: bool = False, progress: bool = True) -> FitResult:
    """Train `config.model`; checkpoint to `out/last.pt` every epoch and `out/best.pt` on the best
    validation balanced accuracy. With `resume`, continue from `out/last.pt` (a larger
    `config.epochs` extends the run)."""
    out = Path(config.out)
    last_path, best_path = out / "last.pt", out / "best.pt"
    state: dict[str, Any] | None = None
    if resume and last_path.exists():
        state = read_checkpoint(last_path)
        saved = FitConfig.from_dict(state["config"])
        if (saved.model, saved.classes, saved.model_options) != (config.model, config.classes, config.model_options):
            raise FerError(f"{last_path} was trained as {saved.model} on {list(saved.classes)}; "
                           "resume with the same model and classes")
        for stale in out.glob(TEMPORARIES):  # half-written checkpoints of a killed run
            stale.unlink()
    elif resume:
        log.info("no checkpoint in %s: starting a new run", out)
    elif last_path.exists():
        raise FerError(f"{out} already holds a run; pass --resume to continue it or choose another --out")

    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)

    base_spec = PreprocessSpec(classes=config.classes)
    train = _load_split(config.data, config.classes, base_spec, config.cache_dir, "train")
    if state is not None:
        spec = PreprocessSpec.from_dict(state["spec"])
    else:
        mean, std = pixel_stats(train)
        spec = replace(base_spec, mean=round(mean, 6), std=round(std, 6))
    val = _load_split(config.val, config.classes, spec, config.cache_dir, "val") if config.val else None

    model = build_model(config.model, spec.num_classes, **config.model_options)
    model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    optimizer = _optimizer(config, model)
    steps_per_epoch = max(1, len(train) // config.batch_size)  # as in _train_epoch
    plateau = PlateauScale()
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_factor(config, steps_per_epoch, plateau))
    generator = torch.Generator().manual_seed(config.seed)
    history: list[dict[str, Any]] = []
    best = {"epoch": 0, "balanced_accuracy": -1.0}
    start_epoch = 0
    ema = copy.deepcopy(model) if config.ema_decay else None
    if state is not None:
        model.load_state_dict(state["train_state_dict"] if ema is not None else state["state_dict"])
        if ema is not None:
            ema.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        plateau.load_state_dict(state["plateau"])
        generator.set_state(state["rng"]["generator"])
        torch.set_rng_state(state["rng"]["torch"])
        history, best, start_epoch = list(state["history"]), dict(state["best"]), int(state["epoch"])
        log.info("resuming %s at epoch %d of %d", out, start_epoch + 1, config.epochs)

    weights = _weights(config, train)
    soft_targets, teachers = distillation(config, train, val, spec)
    provenance = {
        "data": {"path": str(config.data), "sha256": train.sha256, "images": len(train)},
        "val": {"path": str(config.val), "sha256": val.sha256, "images": len(val)} if val else None,
        "parameters": count_parameters(model),
    }
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "config.json", json.dumps(config.to_dict(), indent=2))

    for epoch in range(start_epoch + 1, config.epochs + 1):
        started = time.perf_counter()
        step = _Step(model, optimizer, scheduler, ema, weights, generator, soft_targets, teachers)
        record = _train_epoch(step, train, spec, config, epoch, progress)
        evaluated = ema if ema is not None else model
        score: float | None = record["train_accuracy"]
        if val is not None:
            score = None
            if epoch % config.val_every == 0 or epoch == config.epochs:
                record.update(_validate(evaluated, val, spec))
                score = record["val_balanced_accuracy"]
        if score is not None:
            plateau.step(score)
        record["epoch_seconds"] = round(time.perf_counter() - started, 2)
        history.append(record)
        improved = score is not None and score > best["balanced_accuracy"]
        if improved and score is not None:
            best = {"epoch": epoch, "balanced_accuracy": score}
        payload = {
            "model": {"name": config.model, "options": dict(config.model_options)},
            "spec": spec.to_dict(), "config": config.to_dict(), "provenance": provenance,
            "state_dict": evaluated.state_dict(), "optimizer": optimizer.state_dict(),
            "train_state_dict": model.state_dict() if ema is not None else None,
            "scheduler": scheduler.state_dict(), "plateau": plateau.state_dict(),
            "rng": {"generator": generator.get_state(), "torch": torch.get_rng_state()},
            "epoch": epoch, "best": best, "history": history,
        }
        if improved:
            save_checkpoint(best_path, payload)
        save_checkpoint(last_path, payload)
        _write_history(out, history)
        log.info(_summary(record, config.epochs) + ("  *best*" if improved else ""))
    return FitResult(out, history, int(best["epoch"]), float(best["balanced_accuracy"]))
