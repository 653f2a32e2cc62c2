"""int8 static quantization (QDQ, per-channel weights) calibrated through the shared preprocessing."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from fer_runtime.preprocess import model_input
from fer_runtime.spec import PreprocessSpec

CALIBRATION_SIZE = 400  # faces the int8 graph's activation ranges are measured on


class _Batches(CalibrationDataReader):
    def __init__(self, input_name: str, pixels: np.ndarray, spec: PreprocessSpec, batch_size: int = 32) -> None:
        self._batches: Iterator[dict[str, np.ndarray]] = iter(
            {input_name: model_input(pixels[i : i + batch_size], spec)} for i in range(0, len(pixels), batch_size)
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)


def fixed_sample(paths: tuple[str, ...], size: int) -> np.ndarray:
    """Indices of a fixed sample: images sorted by path, then `size` evenly spaced ones."""
    order = np.argsort(np.array(paths))
    return order[np.linspace(0, len(order) - 1, num=min(size, len(order))).round().astype(int)]


def calibration_sample(pixels: np.ndarray, paths: tuple[str, ...], size: int) -> np.ndarray:
    """The pixels of `fixed_sample`."""
    return pixels[fixed_sample(paths, size)]


def quantize_int8(
    float_path: Path,
    int8_path: Path,
    input_name: str,
    pixels: np.ndarray,
    spec: PreprocessSpec,
    op_types: Sequence[str] | None = None,
    keep_float: Sequence[str] | None = None,
) -> None:
    """Write the int8 QDQ graph of `float_path` to `int8_path`, calibrated on `pixels` (uint8 faces);
    `op_types` limits quantization to those operators (default: every one ONNX Runtime can quantize).

    The nodes named in `keep_float` stay float (default: `single_channel_convolutions`, the stem on gray faces).
    Weights use 7 of their 8 bits (`reduce_range`): on CPUs without VNNI (AVX2 only) ONNX Runtime's
    uint8 x int8 kernels add pairs of products in 16 bits, which full-range weights overflow; a graph
    quantized with full range agreed with its float graph on 68% of Test_250 there (99% with VNNI)."""
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(float_path), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(int8_path),
            _Batches(input_name, pixels, spec),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            reduce_range=True,
            op_types_to_quantize=list(op_types) if op_types else None,
            nodes_to_exclude=list(
                keep_float if keep_float is not None else single_channel_convolutions(onnx.load(str(prepared)))
            ),
        )


def single_channel_convolutions(graph: onnx.ModelProto) -> list[str]:
    """The names of the ungrouped Conv nodes that read one input channel. In int8, ONNX Runtime runs such a
    convolution as a matrix product only as deep as the kernel (nine values for 3x3), slower than its float kernel
    (docs/crowd.md, "The stem in float", has the measurement)."""
    shapes = {tensor.name: tuple(tensor.dims) for tensor in graph.graph.initializer}
    return [
        node.name
        for node in graph.graph.node
        if node.op_type == "Conv"
        and len(node.input) > 1
        and shapes.get(node.input[1], ())[1:2] == (1,)
        and all(a.name != "group" or a.i == 1 for a in node.attribute)
    ]


def quantization_record(calibration_data: str, images: int) -> dict[str, Any]:
    """How `quantize_int8` made a graph, as the model description records it."""
    return {
        "format": "QDQ",
        "weights": "int8 per-channel, 7-bit range",
        "float": "convolutions over one input channel",
        "activations": "uint8",
        "calibration": {"data": calibration_data, "images": images},
    }
