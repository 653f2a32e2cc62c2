"""Writing ONNX graph files: a PyTorch model exported (TorchScript exporter, dynamic batch), simplified by
onnxsim, its nodes counted, and the model description embedded in its metadata."""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import replace
from pathlib import Path

import onnx
import onnxsim
import torch
from torch import nn

from fer_runtime import __version__
from fer_runtime.atomic import write_text
from fer_runtime.errors import FerError
from fer_runtime.model_files import (
    GRAPH_SUITS,
    METADATA_KEY,
    Derivation,
    GraphEntry,
    ModelDescription,
    read_sidecar,
    sha256_file,
)
from fer_runtime.spec import PreprocessSpec

INPUT_NAME, OUTPUT_NAME = "input", "logits"
OPSET = 17


def onnx_export(model: nn.Module, spec: PreprocessSpec, path: Path) -> None:
    dummy = torch.zeros(2, spec.channels, spec.height, spec.width)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter needs no onnxscript
        torch.onnx.export(
            model,
            (dummy,),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        )


def simplify(path: Path) -> None:
    model, ok = onnxsim.simplify(onnx.load(str(path)))
    if not ok:
        raise FerError("onnxsim could not validate the simplified graph")
    onnx.save(model, str(path))


def embed(path: Path, description: ModelDescription) -> None:
    """Put `description` (JSON) into the graph's metadata, replacing what was there, and check the graph."""
    model = onnx.load(str(path))
    del model.metadata_props[:]
    model.metadata_props.add(key=METADATA_KEY, value=json.dumps(description.to_dict()))
    model.producer_name, model.producer_version = "fer_train", __version__
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))


def count_ops(path: Path, op_type: str) -> int:
    return sum(node.op_type == op_type for node in onnx.load(str(path)).graph.node)


def read_exported(folder: Path, name: str) -> ModelDescription:
    """An exported model's description, `folder/name.json`, after checking its float graph's sha256 against it."""
    description = read_sidecar(folder / f"{name}.onnx")
    if description is None:
        raise FerError(f"{folder / name}.json not found: export the model first")
    return description


def embed_all(description: ModelDescription, staged: dict[str, Path]) -> None:
    """Embed `description` in each graph (kind → path), naming the graph, without graphs' sha256 or parity."""
    for kind, path in staged.items():
        embed(path, replace(description, graph=kind, graphs={}, parity=None))


def publish(
    folder: Path,
    description: ModelDescription,
    staged: dict[str, Path],
    derived: dict[str, Derivation] | None = None,
) -> ModelDescription:
    """Move graphs that carry `description` (`embed_all`; staged inside `folder`) into `folder`, with the files
    their derivations name (an `operators` config), and write NAME.json beside them: each graph's file, sha256,
    the providers it suits (`GRAPH_SUITS`) and how it was derived, over the graphs `description` already lists."""
    derived = derived or {}
    files = {kind: GraphEntry(path.name, sha256_file(path), derived=derived.get(kind)) for kind, path in staged.items()}
    graphs = {kind: replace(entry, suits=GRAPH_SUITS[kind]) for kind, entry in {**description.graphs, **files}.items()}
    published = replace(description, graphs=graphs)
    for kind, path in staged.items():
        made = derived.get(kind)
        for name in (path.name, made and made.operators):
            if name:
                os.replace(path.with_name(name), folder / name)
    write_text(folder / f"{description.name}.json", published.to_json())
    return published
