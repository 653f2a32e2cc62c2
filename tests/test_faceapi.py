"""face-api's networks in PyTorch (fer_train.faceapi, fer_train.models.face_descriptor): the weights manifest
reader, TensorFlow's padding, and both ports held to face-api's own TensorFlow.js forward passes in Node
(tests/faceapi_reference.mjs). Node and web/node_modules are required in CI (`.ci/run` installs them)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fer_runtime.errors import FerError
from fer_train.faceapi.expression import CLASSES, MANIFEST, load_expression_net
from fer_train.faceapi.layers import MEAN_RGB, tf_same_pad
from fer_train.faceapi.weights import read_weights
from fer_train.graph_model import load_any_model
from fer_train.models import build_model, rebuild_model
from tests.conftest import REPO

FACE_API = REPO / "web" / "node_modules" / "@vladmandic" / "face-api"
DESCRIPTOR_MANIFEST = FACE_API / "model" / "face_recognition_model-weights_manifest.json"


@pytest.fixture(scope="module")
def face_api() -> Path:
    if shutil.which("node") is None or not (FACE_API / "model" / MANIFEST).is_file():
        message = f"face-api's tests need node and {FACE_API} (npm ci --prefix web)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return FACE_API


def _write_manifest(folder: Path, weights: list[dict], blob: bytes) -> Path:
    (folder / "net.bin").write_bytes(blob)
    manifest = folder / "net-weights_manifest.json"
    manifest.write_text(json.dumps([{"paths": ["net.bin"], "weights": weights}]))
    return manifest


def test_manifest_tensors_are_dequantized_in_order(tmp_path: Path) -> None:
    floats = np.array([1.5, -2.0], np.float32)
    quantized = np.array([0, 2, 255], np.uint8)
    weights = [
        {"name": "a", "shape": [2], "dtype": "float32"},
        {
            "name": "b",
            "shape": [1, 3],
            "dtype": "float32",
            "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0},
        },
    ]
    tensors = read_weights(_write_manifest(tmp_path, weights, floats.tobytes() + quantized.tobytes()))
    assert tensors["a"].tolist() == [1.5, -2.0]
    assert tensors["b"].shape == (1, 3) and tensors["b"].tolist() == [[-1.0, 0.0, 126.5]]


def test_a_manifest_that_does_not_match_its_shards_is_refused(tmp_path: Path) -> None:
    weights = [{"name": "a", "shape": [2], "dtype": "float32"}]
    with pytest.raises(FerError, match="describes 8 bytes, its shards hold 12"):
        read_weights(_write_manifest(tmp_path, weights, bytes(12)))
    with pytest.raises(FerError, match="end before tensor a"):
        read_weights(_write_manifest(tmp_path, weights, bytes(4)))
    with pytest.raises(FerError, match="npm ci --prefix web"):
        read_weights(tmp_path / "absent-weights_manifest.json")


@pytest.mark.parametrize(
    ("size", "stride", "expected"), [(112, 2, [0, 1, 0, 1]), (7, 2, [1, 1, 1, 1]), (8, 1, [1, 1, 1, 1])]
)
def test_same_padding_puts_the_odd_pixel_after(size: int, stride: int, expected: list[int]) -> None:
    x = torch.ones(1, 1, size, size)
    padded = tf_same_pad(x, 3, stride)
    left, right, top, bottom = expected
    assert padded.shape[-1] == size + left + right and padded.shape[-2] == size + top + bottom
    assert padded[0, 0, top, left] == 1 and (left == 0 or padded[0, 0, top, 0] == 0)


def _pattern(size: int, step: int) -> torch.Tensor:
    pixels = torch.from_numpy((np.arange(size * size * 3) * step % 256).reshape(1, size, size, 3).astype(np.float32))
    return (pixels.permute(0, 3, 1, 2) - torch.tensor(MEAN_RGB).view(1, 3, 1, 1)) / 255


def test_ports_match_face_api_in_node(face_api: Path) -> None:
    done = subprocess.run(
        ["node", str(REPO / "tests" / "faceapi_reference.mjs"), str(face_api)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    reference = json.loads(done.stdout.strip().splitlines()[-1])
    expression = load_expression_net(face_api / "model" / MANIFEST).model
    descriptor = build_model("face_descriptor", 4, input_size=150, pretrained=str(DESCRIPTOR_MANIFEST)).eval()
    with torch.no_grad():
        logits = expression.rgb_logits(_pattern(112, 37))[0].numpy()
        projection = torch.from_numpy(read_weights(DESCRIPTOR_MANIFEST)["fc"])
        features = (descriptor.rgb_features(_pattern(150, 53)) @ projection)[0].numpy()
    np.testing.assert_allclose(logits, reference["expression"], atol=1e-4)
    np.testing.assert_allclose(features, reference["descriptor"], atol=1e-5)
    assert np.linalg.norm(features) > 0.1  # a real descriptor, not zeros matching zeros


def test_expression_net_predicts_the_chosen_classes_on_fer_input(face_api: Path) -> None:
    loaded = load_any_model(face_api / "model" / MANIFEST, ("angry", "happy", "neutral", "sad"))
    assert loaded.spec.classes == ("angry", "happy", "neutral", "sad")
    x = torch.rand(2, 1, 48, 48)
    with torch.no_grad():
        every = load_expression_net(face_api / "model" / MANIFEST).model(x)
        chosen = loaded.model(x)
    assert torch.equal(chosen, every[:, [CLASSES.index(c) for c in loaded.spec.classes]])
    with pytest.raises(FerError, match="no contempt"):
        load_expression_net(face_api / "model" / MANIFEST, ("happy", "contempt"))


def test_descriptor_backbone_trains_from_fer_faces(face_api: Path) -> None:
    model = build_model("face_descriptor", 3, input_size=112, pretrained=str(DESCRIPTOR_MANIFEST))
    x, y = torch.rand(4, 1, 48, 48) * 4 - 2, torch.tensor([0, 1, 2, 0])
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    assert model(x).shape == (4, 3) and torch.isfinite(loss)
    assert all(p.grad is not None for p in model.parameters())
    with pytest.raises(FerError, match="at least 112"):
        build_model("face_descriptor", 3, input_size=96)


def test_a_checkpoint_rebuilds_without_the_weights_it_started_from(tmp_path: Path) -> None:
    options = {"input_size": 112, "pretrained": str(tmp_path / "absent-weights_manifest.json")}
    with pytest.raises(FerError, match="manifest not found"):
        build_model("face_descriptor", 4, **options)
    assert rebuild_model("face_descriptor", 4, options)(torch.rand(1, 1, 48, 48)).shape == (1, 4)
