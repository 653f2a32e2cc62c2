"""An exported model's description (`NAME.json` beside the graph, or the graph's own metadata),
where the bundled model lives, and integrity checks."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from fer_runtime.errors import FerError
from fer_runtime.spec import PreprocessSpec

METADATA_KEY = "fer"
MODEL_FORMAT = "fer-model/1"
DEFAULT_MODEL_NAME = "fer_default"


@dataclass(frozen=True)
class ModelInfo:
    """What the runtime needs to know about a graph: preprocessing, classes, I/O names."""

    spec: PreprocessSpec
    input_name: str
    output_name: str
    description: dict[str, Any]

    @property
    def classes(self) -> tuple[str, ...]:
        return self.spec.classes

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str) -> ModelInfo:
        if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
            raise FerError(f"{origin}: not a fer model description ({MODEL_FORMAT} expected)")
        try:
            spec = PreprocessSpec.from_dict(data["spec"])
            input_name, output_name = data["input"]["name"], data["output"]["name"]
        except (KeyError, TypeError):
            raise FerError(f"{origin}: model description lacks spec, input or output") from None
        if list(data.get("classes", spec.classes)) != list(spec.classes):
            raise FerError(f"{origin}: classes disagree between the description and its spec")
        return cls(spec, input_name, output_name, data)


def sha256_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sidecar_path(model_path: Path) -> Path:
    """`exported/x.onnx` and `exported/x.int8.onnx` share `exported/x.json`."""
    stem = model_path.name.removesuffix(".onnx").removesuffix(".int8")
    return model_path.with_name(stem + ".json")


def read_sidecar(model_path: Path) -> ModelInfo | None:
    """The sidecar description, after checking the graph's sha256 against it; None if absent."""
    path = sidecar_path(model_path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FerError(f"{path}: unreadable model description ({exc})") from None
    info = ModelInfo.from_dict(data, str(path))
    graphs = {g["file"]: g for g in data.get("graphs", {}).values()}
    entry = graphs.get(model_path.name)
    if entry is None:
        raise FerError(f"{path} does not describe {model_path.name}")
    actual = sha256_file(model_path)
    if entry.get("sha256") != actual:
        raise FerError(f"{model_path}: sha256 {actual[:12]}… does not match {path.name} "
                       f"({str(entry.get('sha256'))[:12]}…); the graph or its JSON was changed")
    return info


def parse_metadata(metadata: dict[str, str], origin: str) -> ModelInfo:
    """The description embedded in an ONNX graph's metadata_props."""
    if METADATA_KEY not in metadata:
        raise FerError(f"{origin}: no {METADATA_KEY!r} metadata and no sidecar JSON; not a fer model")
    try:
        data = json.loads(metadata[METADATA_KEY])
    except json.JSONDecodeError as exc:
        raise FerError(f"{origin}: model metadata is not valid JSON ({exc})") from None
    return ModelInfo.from_dict(data, origin)


def bundled_model_dir() -> Path:
    """Where the shipped models are: inside the installed package, or exported/ in a checkout."""
    packaged = Path(str(resources.files("fer_runtime"))) / "models"
    if (packaged / f"{DEFAULT_MODEL_NAME}.json").is_file():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / "exported"
    if (checkout / f"{DEFAULT_MODEL_NAME}.json").is_file():
        return checkout
    raise FerError("the bundled model is missing from this installation; pass a model path")


def bundled_model_path(prefer_int8: bool = True) -> Path:
    """The default graph: its int8 version when shipped and preferred, else the float one."""
    folder = bundled_model_dir()
    int8 = folder / f"{DEFAULT_MODEL_NAME}.int8.onnx"
    return int8 if prefer_int8 and int8.is_file() else folder / f"{DEFAULT_MODEL_NAME}.onnx"
