"""Static facts about an ONNX graph: parameter count and multiply-accumulates per image."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference


@dataclass(frozen=True)
class GraphStats:
    parameters: int
    macs_per_image: int
    file_bytes: int


def graph_stats(path: str | os.PathLike[str]) -> GraphStats:
    """Count Conv/Gemm/MatMul MACs for one image (batch fixed to 1) and initializer elements.

    For a quantized (QDQ) graph, weights are counted once (as int8), not with their scales.
    """
    model = onnx.load(os.fspath(path))
    graph = model.graph
    dim = graph.input[0].type.tensor_type.shape.dim[0]
    dim.ClearField("dim_param")
    dim.dim_value = 1
    inferred = shape_inference.infer_shapes(model).graph
    shapes: dict[str, list[int]] = {}
    for value in [*inferred.input, *inferred.value_info, *inferred.output]:
        shapes[value.name] = [d.dim_value for d in value.type.tensor_type.shape.dim]
    inits = {t.name: t for t in graph.initializer}
    for init in graph.initializer:
        shapes[init.name] = list(init.dims)
    producers = {out: node for node in graph.node for out in node.output}

    def weight_shape(name: str) -> list[int]:
        # through a DequantizeLinear in QDQ graphs
        node = producers.get(name)
        return (
            shapes.get(node.input[0], [])
            if node is not None and node.op_type == "DequantizeLinear"
            else shapes.get(name, [])
        )

    macs = 0
    for node in graph.node:
        if node.op_type == "Conv":
            out = shapes.get(node.output[0], [])
            w = weight_shape(node.input[1])
            if out and w:
                macs += int(np.prod(out[1:])) * int(np.prod(w[1:]))
        elif node.op_type in ("Gemm", "MatMul"):
            w = weight_shape(node.input[1])
            if len(w) == 2:
                macs += w[0] * w[1]
    float_weights = {n for n, t in inits.items() if t.data_type in (onnx.TensorProto.FLOAT,)}
    int_weights = {n for n, t in inits.items() if t.data_type in (onnx.TensorProto.INT8,)}
    counted = int_weights or float_weights
    if int_weights:  # biases stay int32 in QDQ graphs
        counted |= {n for n, t in inits.items() if t.data_type == onnx.TensorProto.INT32}
    parameters = sum(int(np.prod(numpy_helper.to_array(inits[n]).shape)) for n in counted)
    return GraphStats(parameters, macs, os.path.getsize(path))
