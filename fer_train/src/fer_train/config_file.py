"""Training settings from a TOML file (the keys of `FitConfig`), as `fer-train fit --config` reads them."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from typing import Any

from fer_runtime.errors import FerError
from fer_train.augment import AugmentConfig
from fer_train.data import parse_classes
from fer_train.train import FitConfig


def read_config_file(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise FerError(f"{path}: cannot read config ({exc})") from None
    known = {f.name for f in fields(FitConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise FerError(f"{path}: unknown config keys {', '.join(unknown)}")
    if isinstance(data.get("classes"), str):
        data["classes"] = parse_classes(data["classes"])
    if "teachers" in data:
        data["teachers"] = tuple(data["teachers"])
    if "augment" in data:
        data["augment"] = AugmentConfig(**data["augment"])
    return data
