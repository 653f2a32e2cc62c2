"""The training recipe: `FitConfig`, its choices, and how a TOML file and command-line options make one."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import tomllib

from fer_runtime.errors import FerError
from fer_runtime.spec import DEFAULT_CLASSES
from fer_train.augment import AugmentConfig
from fer_train.data import parse_classes

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULES = ("plateau", "cosine", "step", "none")
PRECISIONS = ("fp32", "bf16")
SAMPLINGS = ("shuffle", "balanced")
# class weights: the power of each class's training share the loss divides out ("balanced": inverse frequency)
CLASS_WEIGHT_POWERS = {"none": 0.0, "halfway": 0.5, "balanced": 1.0}
CLASS_WEIGHTS = tuple(CLASS_WEIGHT_POWERS)
DISTILL_VIEWS = ("clean", "augmented")
OFF_CLASS = ("drop", "keep")  # faces whose raters mostly chose a class the model does not have
DEVICES = ("auto", "cpu", "cuda")
SELECT_ON = ("original", "crowd", "ferplus")  # which validation figure picks best.pt
SELECTED_BY = {  # its history key
    "original": "val_balanced_accuracy",
    "crowd": "val_crowd_balanced_accuracy",
    "ferplus": "val_ferplus_accuracy",
}
LABELS = ("folders", "votes")  # where a face's class comes from: its folder, or FER+'s majority of its votes


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise FerError(f"unknown {name} {value!r}; choose from {', '.join(choices)}")


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
    class_weights: str = "none"  # "balanced": inverse frequency of each class in the targets; "halfway": its root
    sampling: str = "shuffle"  # "balanced": each epoch draws classes equally often (with replacement)
    ema_decay: float = 0.0  # > 0: evaluate and export an exponential moving average of the weights
    val_every: int = 1  # validate every N epochs (and after the last one)
    mixup_alpha: float = 0.0  # > 0: mix pairs of training images with weight ~ Beta(alpha, alpha)
    cutmix_alpha: float = 0.0  # > 0: paste a box of a partner image covering ~ Beta(alpha, alpha) of the face
    teachers: tuple[str, ...] = ()  # checkpoints or exported float graphs whose averaged soft predictions it learns
    distill_weight: float = 0.5  # share of the distillation term in the loss when teachers are given
    distill_temperature: float = 4.0
    distill_views: str = "clean"  # "augmented": teachers predict on each batch as the student sees it
    votes: str | None = None  # CSV of crowd votes per face (`file` + one column per class)
    vote_weight: float = 1.0  # target = w * votes + (1 - w) * one-hot folder label
    vote_off_class: str = "drop"  # "drop": leave out faces whose raters mostly chose another class
    select_on: str = "original"  # "crowd": best.pt on the balanced accuracy against the raters' majority;
    # "ferplus": on top-1 against FER+'s majority rule over every validation face
    labels: str = "folders"  # "votes": classes from FER+'s majority of the votes (a class may have no folder)
    precision: str = "fp32"  # "bf16": training forward passes in bfloat16 autocast (weights stay fp32)
    augment: AugmentConfig = AugmentConfig()
    seed: int = 0
    threads: int | None = None
    device: str = "auto"  # "auto": a CUDA GPU when PyTorch sees one, else the CPU
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        for name, choices in (
            ("optimizer", OPTIMIZERS),
            ("schedule", SCHEDULES),
            ("precision", PRECISIONS),
            ("class_weights", CLASS_WEIGHTS),
            ("sampling", SAMPLINGS),
            ("distill_views", DISTILL_VIEWS),
            ("vote_off_class", OFF_CLASS),
            ("select_on", SELECT_ON),
            ("labels", LABELS),
            ("device", DEVICES),
        ):
            _check_choice(name, getattr(self, name), choices)
        if not 0 <= self.distill_weight <= 1 or self.distill_temperature <= 0:
            raise FerError("distill_weight must be in [0, 1] and distill_temperature > 0")
        if not 0 <= self.vote_weight <= 1:
            raise FerError(f"vote_weight must be in [0, 1], got {self.vote_weight}")
        if self.select_on != "original" and (self.votes is None or self.val is None):
            raise FerError(f"select_on {self.select_on!r} needs votes and val data")
        if self.labels == "votes" and self.votes is None:
            raise FerError("labels 'votes' needs votes")
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
    def from_dict(cls, data: Mapping[str, Any]) -> FitConfig:
        """A config from `to_dict`'s output or a TOML table: unknown keys are an error."""
        values = dict(data)
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise FerError(f"unknown config keys {', '.join(unknown)}")
        if isinstance(values.get("classes"), str):
            values["classes"] = parse_classes(values["classes"])
        for key in ("classes", "teachers"):
            if key in values:
                values[key] = tuple(values[key])
        if isinstance(values.get("augment"), Mapping):
            values["augment"] = AugmentConfig(**values["augment"])
        for required in ("data", "out"):
            if not values.get(required):
                raise FerError(f"--{required} is required (on the command line or in --config)")
        try:
            return cls(**values)
        except TypeError as exc:
            raise FerError(f"invalid config: {exc}") from None


def read_config_file(path: str) -> dict[str, Any]:
    """The keys of a TOML recipe file (or a run's `config.json`), checked against `FitConfig`'s fields."""
    try:
        with open(path, "rb") as handle:
            data = json.load(handle) if path.endswith(".json") else tomllib.load(handle)
    except (OSError, ValueError) as exc:  # JSON and TOML decode errors are ValueErrors
        raise FerError(f"{path}: cannot read config ({exc})") from None
    if not isinstance(data, dict):
        raise FerError(f"{path}: a config must be a table of keys")
    unknown = sorted(set(data) - {f.name for f in fields(FitConfig)})
    if unknown:
        raise FerError(f"{path}: unknown config keys {', '.join(unknown)}")
    return data


def merge_options(config_file: str | None, options: Mapping[str, Any]) -> dict[str, Any]:
    """The TOML file's keys, overridden by the command-line options that were given (not None, not empty)."""
    values = read_config_file(config_file) if config_file else {}
    values.update({k: v for k, v in options.items() if v is not None and v != ()})
    return values


def recipe_toml(recipe: dict[str, Any]) -> str:
    """A recorded recipe (`FitConfig.to_dict`) as the TOML `fit --config` reads, without per-machine settings."""

    def value(v: Any) -> str:
        return json.dumps(v) if not isinstance(v, bool) else str(v).lower()

    skip = {"out", "cache_dir", "threads"}
    flat = [
        f"{k} = {value(v)}" for k, v in recipe.items() if not isinstance(v, dict) and k not in skip and v is not None
    ]
    tables = [
        f"\n[{k}]\n" + "\n".join(f"{kk} = {value(vv)}" for kk, vv in v.items())
        for k, v in recipe.items()
        if isinstance(v, dict) and v
    ]
    return "\n".join(flat) + "".join(tables)
