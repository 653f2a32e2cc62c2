"""An exported model's description (`NAME.json` beside the graph, or the graph's own metadata),
where the bundled model lives, and integrity checks."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from fer_runtime.class_prior import ClassPrior, power_of
from fer_runtime.errors import FerError
from fer_runtime.spec import PreprocessSpec

METADATA_KEY = "fer"
MODEL_FORMAT = "fer-model/1"
DEFAULT_MODEL_NAME = "fer_default"
GRAPH_SUFFIXES = (".onnx", ".ort")  # ONNX, and ONNX Runtime's own format (ORT Mobile, minimal builds)
# Which execution providers (short names, `session.resolve_providers`) each kind of graph is made for.
GRAPH_SUITS: dict[str, tuple[str, ...]] = {
    "float": ("cpu", "openvino", "cuda", "wasm"),
    "int8": ("cpu", "openvino", "wasm"),
    "ort": ("cpu",),  # the int8 graph, QDQ fused into QLinearConv, for ORT Mobile's CPU provider
    "fp16": ("cuda", "tensorrt"),  # float16 weights and arithmetic, float32 input and output
}


@dataclass(frozen=True)
class Derivation:
    """How a graph derived from another (ORT's format, fp16) was made: the kind of its source graph, their largest
    logit difference on the export's probe batch, and (ORT's format) the operator list written beside it."""

    source: str
    probe_max_abs_logit_diff: float
    operators: str | None = None


@dataclass(frozen=True)
class GraphEntry:
    """One graph of a model as NAME.json lists it: its file, sha256, the execution providers it is made for
    (`GRAPH_SUITS`) and, for a derived graph, how it was made."""

    file: str
    sha256: str
    suits: tuple[str, ...] = ()
    derived: Derivation | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"file": self.file, "sha256": self.sha256}
        if self.derived is not None:
            if self.derived.operators is not None:
                data["operators"] = self.derived.operators
            data |= {"source": self.derived.source, "probe_max_abs_logit_diff": self.derived.probe_max_abs_logit_diff}
        return data | {"suits": list(self.suits)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str) -> GraphEntry:
        try:
            derived = None
            if "source" in data:
                derived = Derivation(
                    str(data["source"]), float(data["probe_max_abs_logit_diff"]), data.get("operators")
                )
            return cls(str(data["file"]), str(data["sha256"]), tuple(data.get("suits", ())), derived)
        except (KeyError, TypeError, ValueError):
            raise FerError(f"{origin}: a graph entry lacks its file, sha256 or derivation") from None


@dataclass(frozen=True, kw_only=True)
class ModelDescription:
    """An exported model: what the runtime needs (preprocessing, classes, I/O names, temperature) and
    what a reader wants (architecture, training provenance, quantization, export checks).

    `fer_train`'s export builds one and embeds it in each graph's metadata (with `graph` naming that
    graph) and writes it beside them as NAME.json (with `graphs`: each graph's file, sha256, and the execution
    providers it is made for, `GRAPH_SUITS`).
    """

    name: str
    spec: PreprocessSpec
    model: dict[str, Any] = field(default_factory=dict)  # architecture: {"name", "options"}
    provenance: dict[str, Any] = field(default_factory=dict)  # training data, recipe, epochs, wall time
    input_name: str = "input"
    output_name: str = "logits"
    quantization: dict[str, Any] | None = None  # how the int8 graph was made; None: float graph only
    parity: dict[str, Any] | None = None  # the export's accuracy check on the --check data
    graphs: dict[str, GraphEntry] = field(default_factory=dict)  # kind (float, int8, ort, fp16) → its file
    graph: str | None = None  # in a graph's metadata: which graph this is
    temperature: float = 1.0  # probabilities = softmax(logits / temperature)
    temperature_fit: dict[str, Any] | None = None  # how the temperature was fitted, ECE before and after
    prior: ClassPrior | None = None  # the training targets' class shares; None: not recorded

    def prior_shares(self) -> np.ndarray | None:
        """The class shares the training targets had, in class order (None: not recorded)."""
        return None if self.prior is None else self.prior.array(self.classes)

    def default_prior(self) -> str:
        return "trained" if self.prior is None else self.prior.default

    def prior_reweighting(self, choice: str) -> float:
        """The power of the training shares that takes this graph's probabilities to those of prior `choice`
        (`postprocess.reweight`): graphs that fold a division by the shares in are taken back as needed."""
        if self.prior is None:
            if power_of(choice) != 0:
                raise FerError(f"{self.name}: no class prior recorded; this model gives only its trained posterior")
            return 0.0
        return self.prior.power_for(choice)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.spec.classes

    def graph_file(self, kind: str) -> str:
        """The file name of this model's `kind` graph (float, int8, ort, fp16, ...), as NAME.json lists it."""
        entry = self.graphs.get(kind)
        if entry is None:
            listed = ", ".join(self.graphs) or "none"
            raise FerError(f"{self.name}: no {kind} graph in its description (graphs: {listed})")
        return entry.file

    def to_dict(self) -> dict[str, Any]:
        spec = self.spec
        data: dict[str, Any] = {
            "format": MODEL_FORMAT,
            "name": self.name,
            "spec": spec.to_dict(),
            "classes": list(spec.classes),
            "input": {
                "name": self.input_name,
                "shape": ["batch", spec.channels, spec.height, spec.width],
                "dtype": "float32",
            },
            "output": {"name": self.output_name, "kind": "logits", "shape": ["batch", spec.num_classes]},
            "model": self.model,
            "provenance": self.provenance,
        }
        optional = {
            "quantization": self.quantization,
            "parity": self.parity,
            "graphs": {kind: entry.to_dict() for kind, entry in self.graphs.items()},
            "graph": self.graph,
            "temperature_fit": self.temperature_fit,
            "prior": None if self.prior is None else self.prior.to_dict(),
        }
        if self.temperature != 1.0:
            data["temperature"] = self.temperature
        return data | {k: v for k, v in optional.items() if v}

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str) -> ModelDescription:
        if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
            raise FerError(f"{origin}: not a fer model description ({MODEL_FORMAT} expected)")
        try:
            spec = PreprocessSpec.from_dict(data["spec"])
            input_name, output_name = data["input"]["name"], data["output"]["name"]
        except (KeyError, TypeError):
            raise FerError(f"{origin}: model description lacks spec, input or output") from None
        if list(data.get("classes", spec.classes)) != list(spec.classes):
            raise FerError(f"{origin}: classes disagree between the description and its spec")
        temperature = data.get("temperature", 1.0)
        if not isinstance(temperature, (int, float)) or not temperature > 0:
            raise FerError(f"{origin}: temperature must be a positive number, got {temperature!r}")
        return cls(
            name=str(data.get("name", "")),
            spec=spec,
            model=data.get("model") or {},
            provenance=data.get("provenance") or {},
            input_name=input_name,
            output_name=output_name,
            quantization=data.get("quantization"),
            parity=data.get("parity"),
            graphs={kind: GraphEntry.from_dict(g, origin) for kind, g in (data.get("graphs") or {}).items()},
            graph=data.get("graph"),
            temperature=float(temperature),
            temperature_fit=data.get("temperature_fit"),
            prior=None if data.get("prior") is None else ClassPrior.from_dict(data["prior"], spec.classes, origin),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


def sha256_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_description(path: str | os.PathLike[str]) -> ModelDescription:
    """A NAME.json model description."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FerError(f"{path}: unreadable model description ({exc})") from None
    return ModelDescription.from_dict(data, str(path))


def sidecar_path(model_path: Path) -> Path:
    """`exported/x.onnx`, `x.int8.onnx`, `x.fp16.onnx` and `x.int8.ort` share `exported/x.json`."""
    stem = model_path.name
    for suffix in (*GRAPH_SUFFIXES, ".int8", ".fp16"):
        stem = stem.removesuffix(suffix)
    return model_path.with_name(stem + ".json")


def read_sidecar(model_path: Path) -> ModelDescription | None:
    """The sidecar description, after checking the graph's sha256 against it; None if absent."""
    path = sidecar_path(model_path)
    if not path.is_file():
        return None
    description = read_description(path)
    graphs = {g.file: g for g in description.graphs.values()}
    entry = graphs.get(model_path.name)
    if entry is None:
        raise FerError(f"{path} does not describe {model_path.name}")
    actual = sha256_file(model_path)
    if entry.sha256 != actual:
        raise FerError(
            f"{model_path}: sha256 {actual[:12]}… does not match {path.name} "
            f"({entry.sha256[:12]}…); the graph or its JSON was changed"
        )
    return description


def parse_metadata(metadata: dict[str, str], origin: str) -> ModelDescription:
    """The description embedded in an ONNX graph's metadata_props."""
    if METADATA_KEY not in metadata:
        raise FerError(f"{origin}: no {METADATA_KEY!r} metadata and no sidecar JSON; not a fer model")
    try:
        data = json.loads(metadata[METADATA_KEY])
    except json.JSONDecodeError as exc:
        raise FerError(f"{origin}: model metadata is not valid JSON ({exc})") from None
    return ModelDescription.from_dict(data, origin)


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
