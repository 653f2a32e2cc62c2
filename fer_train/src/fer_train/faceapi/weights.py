"""The named tensors of a face-api weights manifest (`NAME-weights_manifest.json` beside `NAME.bin`):
float32 tensors, or uint8 ones with a (scale, min) to dequantize, laid end to end in the shards the
manifest lists, in its order. Filters keep TensorFlow's layouts; `conv_filters` and `depthwise_filters`
turn them into PyTorch's."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from fer_runtime.errors import FerError

_BYTES = {"float32": 4, "uint8": 1}


def read_weights(manifest: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every tensor of `manifest` by name, as float32 arrays in the manifest's shapes."""
    path = Path(manifest)
    if not path.is_file():
        raise FerError(f"face-api weights manifest not found: {path} (install it: npm ci --prefix web)")
    tensors: dict[str, np.ndarray] = {}
    for group in json.loads(path.read_text()):
        blob = b"".join((path.parent / shard).read_bytes() for shard in group["paths"])
        offset = 0
        for entry in group["weights"]:
            quantization = entry.get("quantization")
            dtype = quantization["dtype"] if quantization else entry["dtype"]
            if dtype not in _BYTES:
                raise FerError(f"{path}: tensor {entry['name']} is stored as {dtype}; only float32 and uint8 are read")
            count = int(np.prod(entry["shape"]))
            if offset + count * _BYTES[dtype] > len(blob):
                raise FerError(f"{path}: its shards end before tensor {entry['name']} ({len(blob)} bytes)")
            raw = np.frombuffer(blob, dtype=dtype, count=count, offset=offset)
            offset += count * _BYTES[dtype]
            values = raw * quantization["scale"] + quantization["min"] if quantization else raw
            tensors[entry["name"]] = values.astype(np.float32).reshape(entry["shape"])
        if offset != len(blob):
            raise FerError(f"{path}: the manifest describes {offset} bytes, its shards hold {len(blob)}")
    return tensors


def conv_filters(filters: np.ndarray) -> torch.Tensor:
    """TensorFlow's [kh, kw, in, out] as PyTorch's [out, in, kh, kw]."""
    return torch.from_numpy(filters.transpose(3, 2, 0, 1).copy())


def depthwise_filters(filters: np.ndarray) -> torch.Tensor:
    """TensorFlow's depthwise [kh, kw, in, 1] as PyTorch's grouped [in, 1, kh, kw]."""
    return torch.from_numpy(filters.transpose(2, 3, 0, 1).copy())
