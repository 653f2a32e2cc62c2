"""Graphs made from an exported model's float or int8 graph for other targets, each checked against its
source on a fixed random batch: the ORT format (`NAME.int8.ort`, for ORT Mobile and minimal builds, with
the operator config such a build is made from) and float16 (`NAME.fp16.onnx`, for CUDA and TensorRT; float32
input and output). `convert` adds them to an export folder (`fer-train convert`); export stages them with
its graphs."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.tools.ort_format_model import create_config_from_models
from onnxruntime.transformers.float16 import convert_float_to_float16

from fer_runtime.errors import FerError
from fer_runtime.model_files import Derivation, ModelDescription
from fer_runtime.session import create_session
from fer_train.onnx_graph import embed_all, publish, read_exported
from fer_train.parity import FLOAT_TOLERANCE

SOURCES = ("float", "int8")  # the graphs export writes from PyTorch
DERIVED = ("ort", "fp16")  # the graphs made from them
FP16_TOLERANCE = 0.05  # max |Δlogit| of the float16 graph from the float32 one on the probe batch
OPERATORS_SUFFIX = ".required_operators.config"  # the ops a minimal ONNX Runtime build needs for NAME.int8.ort


def derived_file(name: str, kind: str, staged: dict[str, Path]) -> tuple[str, str]:
    """(source kind, file name) of derived graph `kind`: the ORT format of the int8 graph when there is one."""
    if kind == "ort":
        source = "int8" if "int8" in staged else "float"
        return source, f"{name}.int8.ort" if source == "int8" else f"{name}.ort"
    if kind == "fp16":
        return "float", f"{name}.fp16.onnx"
    raise FerError(f"unknown graph kind {kind!r}; use one of {', '.join(DERIVED)}")


def _write_ort(source: Path, target: Path) -> None:
    """ONNX Runtime's format, optimised as ORT Mobile's converter does (`--optimization_style Fixed`): all
    graph optimisations but the x86-only NCHWc layout, so the file runs on ARM too."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.optimized_model_filepath = str(target)
    options.add_session_config_entry("session.save_model_format", "ORT")
    options.add_session_config_entry("session.qdqisint8allowed", "0")
    options.log_severity_level = 3
    ort.InferenceSession(
        str(source), sess_options=options, providers=["CPUExecutionProvider"], disabled_optimizers=["NchwcTransformer"]
    )


def _write_fp16(source: Path, target: Path) -> None:
    model = convert_float_to_float16(onnx.load(str(source)), keep_io_types=True)
    _sort_nodes(model.graph)  # the converter appends the input casts after the nodes that read them
    onnx.save(model, str(target))


def _sort_nodes(graph: onnx.GraphProto) -> None:
    """Order `graph`'s nodes so each comes after the nodes whose outputs it reads, as ONNX requires."""
    known = {"", *(v.name for v in graph.input), *(t.name for t in graph.initializer)}
    pending, ordered = list(graph.node), []
    while pending:
        ready = [node for node in pending if all(name in known for name in node.input)]
        if not ready:
            raise FerError("the float16 graph has a cycle or reads a value nothing writes")
        for node in ready:
            known.update(node.output)
        ordered += ready
        pending = [node for node in pending if node not in ready]
    graph.ClearField("node")
    graph.node.extend(ordered)


def _write_operators(ort_path: Path, target: Path) -> None:
    """The reduced-operator config (`--include_ops_by_config` of ONNX Runtime's build), naming the file only."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / target.name
        logging.getLogger("ort_format_model.utils").setLevel(logging.WARNING)
        create_config_from_models([ort_path], raw, False)
        lines = raw.read_text(encoding="utf-8").splitlines()
    body = [line for line in lines if not line.startswith("#")]
    target.write_text("\n".join([f"# Generated from model: {ort_path.name}", *body]) + "\n", encoding="utf-8")


def _probe_drift(source: Path, derived: Path, description: ModelDescription) -> float:
    """Max |Δlogit| between two graphs of `description` on a fixed random batch."""
    spec = description.spec
    probe = np.random.default_rng(0).standard_normal((8, spec.channels, spec.height, spec.width)).astype(np.float32)
    outputs = [create_session(path).run(None, {description.input_name: probe})[0] for path in (source, derived)]
    return float(np.abs(outputs[0] - outputs[1]).max())


def stage_derived(
    description: ModelDescription, staged: dict[str, Path], kinds: tuple[str, ...]
) -> dict[str, Derivation]:
    """Write each derived graph beside the `staged` graphs (which carry `description`), carrying it too, checked
    on the probe batch; adds them to `staged` and returns how each was made, for the description's graphs."""
    derivations: dict[str, Derivation] = {}
    for kind in kinds:
        operators = None
        source_kind, file_name = derived_file(description.name, kind, staged)
        source, target = staged[source_kind], staged[source_kind].with_name(file_name)
        if kind == "ort":
            carrier = target.with_name(f".{kind}.onnx")  # the source graph, naming this graph in its metadata
            shutil.copyfile(source, carrier)
            embed_all(description, {kind: carrier})
            _write_ort(carrier, target)
            carrier.unlink()
            operators = target.with_name(description.name + OPERATORS_SUFFIX)
            _write_operators(target, operators)
        else:
            _write_fp16(source, target)
            embed_all(description, {kind: target})
        drift = _probe_drift(source, target, description)
        limit = FP16_TOLERANCE if kind == "fp16" else FLOAT_TOLERANCE
        if drift > limit:
            raise FerError(f"{file_name}: differs from {source.name} by {drift:.2e} on the probe batch (> {limit})")
        staged[kind] = target
        derivations[kind] = Derivation(source_kind, drift, operators.name if operators else None)
    return derivations


def staged_sources(description: ModelDescription, folder: Path, tmp: Path) -> dict[str, Path]:
    """Copies in `tmp` of an export's float and int8 graphs (kind → path), to re-embed or derive from."""
    staged = {kind: tmp / entry.file for kind, entry in description.graphs.items() if kind in SOURCES}
    for path in staged.values():
        shutil.copyfile(folder / path.name, path)
    return staged


def derived_in(description: ModelDescription) -> tuple[str, ...]:
    """The derived graphs an export has: to be made anew when its sources or description change."""
    return tuple(kind for kind in DERIVED if kind in description.graphs)


def convert(*, export_dir: str | os.PathLike[str], name: str, kinds: tuple[str, ...]) -> ModelDescription:
    """Add the derived graphs `kinds` ("ort", "fp16") to an exported model in `export_dir` and update NAME.json;
    no checkpoint needed."""
    folder = Path(export_dir)
    description = read_exported(folder, name)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".convert-") as tmp:
        staged = staged_sources(description, folder, Path(tmp))
        details = stage_derived(description, staged, kinds)
        return publish(folder, description, {kind: staged[kind] for kind in kinds}, details)
