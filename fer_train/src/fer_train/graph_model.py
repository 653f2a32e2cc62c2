"""An exported float graph back in PyTorch: its architecture (from the description beside it), BatchNorm
folded as export folds it, with the graph's weights. Export held that folded model to the graph within
1e-4, so a shipped model can teach a student or be scored in PyTorch without its checkpoint."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import onnx
import torch
from onnx import numpy_helper

from fer_runtime.errors import FerError
from fer_runtime.model_files import read_sidecar
from fer_train.checkpoint import LoadedModel, load_model
from fer_train.faceapi.expression import MANIFEST as EXPRESSION_MANIFEST
from fer_train.faceapi.expression import load_expression_net
from fer_train.fold import fold_batchnorm
from fer_train.models import rebuild_model


def load_float_graph(path: str | os.PathLike[str]) -> LoadedModel:
    """The model of the float graph `path` (NAME.onnx with NAME.json beside it), in eval mode."""
    graph = Path(path)
    description = read_sidecar(graph)
    if description is None:
        raise FerError(f"{graph}: no model description beside it ({graph.with_suffix('.json').name})")
    if "float" not in description.graphs or description.graph_file("float") != graph.name:
        raise FerError(f"{graph}: not {description.name}'s float graph; PyTorch reads only the float one")
    model = fold_batchnorm(
        rebuild_model(description.model["name"], description.spec.num_classes, description.model["options"])
    )
    weights = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(graph)).graph.initializer}
    missing = [name for name in model.state_dict() if name not in weights]
    if missing:
        raise FerError(f"{graph}: the graph lacks {len(missing)} of the architecture's weights ({missing[0]}, ...)")
    model.load_state_dict({name: torch.from_numpy(weights[name].copy()) for name in model.state_dict()})
    model.eval()
    return LoadedModel(model, description.spec, {"model": description.model, "exported": description.name})


def load_any_model(path: str | os.PathLike[str], classes: Sequence[str] | None = None) -> LoadedModel:
    """A checkpoint (.pt), an exported float graph (.onnx), or face-api's expression net (its weights
    manifest), which alone can predict a chosen subset of its `classes`."""
    if Path(path).name == EXPRESSION_MANIFEST:
        return load_expression_net(path, classes)
    return load_float_graph(path) if Path(path).suffix == ".onnx" else load_model(path)
