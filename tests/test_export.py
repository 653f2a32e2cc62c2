import json
import shutil

import numpy as np
import onnx
import pytest

from fer_runtime.errors import FerError
from fer_runtime.model_files import METADATA_KEY
from fer_runtime.preprocess import normalize
from fer_runtime.recognizer import Recognizer
from fer_train.checkpoint import load_model
from fer_train.data import load_dataset
from fer_train.evaluate import predict_logits
from fer_train.export import export_checkpoint
from fer_train.train import FitConfig, fit

def test_export_writes_checked_graphs_and_description(tiny_export):
    root, result = tiny_export
    assert sorted(p.name for p in (root / "out").iterdir()) == ["tiny.int8.onnx", "tiny.json", "tiny.onnx"]
    graph = onnx.load(str(result.float_path))
    assert not [n for n in graph.graph.node if n.op_type == "BatchNormalization"]
    assert any(n.op_type == "QuantizeLinear" for n in onnx.load(str(result.int8_path)).graph.node)
    description = json.loads(result.json_path.read_text())
    assert description["classes"] == ["angry", "happy", "neutral", "sad"]
    assert set(description["graphs"]) == {"float", "int8"}
    parity = description["parity"]
    assert parity["float_max_abs_logit_diff"] <= 1e-4 and parity["float_top1_agreement"] == 1.0
    embedded = json.loads({p.key: p.value for p in graph.metadata_props}[METADATA_KEY])
    assert embedded["spec"] == description["spec"] and embedded["provenance"] == description["provenance"]


def test_runtime_matches_pytorch(tiny_export, face_zip):
    root, result = tiny_export
    loaded = load_model(root / "run" / "best.pt")
    data = load_dataset(face_zip, loaded.spec.classes, loaded.spec, root / "cache")
    expected = predict_logits(loaded.model, data.pixels, loaded.spec)
    recognizer = Recognizer(result.float_path)
    got = recognizer.logits(normalize(data.pixels, loaded.spec.mean, loaded.spec.std)[:, None])
    assert np.abs(got - expected).max() <= 1e-4
    assert np.array_equal(got.argmax(1), expected.argmax(1))
    assert recognizer.spec == loaded.spec


def test_lone_graph_describes_itself(tiny_export, tmp_path):
    _, result = tiny_export
    lone = tmp_path / "lone.onnx"
    shutil.copy(result.int8_path, lone)
    recognizer = Recognizer(lone)
    assert recognizer.classes == ["angry", "happy", "neutral", "sad"]
    assert recognizer.classify(np.zeros((48, 48), np.uint8)).shape == (1, 4)


def test_tampered_graph_or_description_is_refused(tiny_export, tmp_path):
    _, result = tiny_export
    for path in (result.float_path, result.json_path):
        shutil.copy(path, tmp_path / path.name)
    copy = tmp_path / result.float_path.name
    copy.write_bytes(copy.read_bytes() + b"\0")
    with pytest.raises(FerError, match="sha256"):
        Recognizer(copy)
    shutil.copy(result.float_path, copy)
    description = json.loads((tmp_path / "tiny.json").read_text())
    description["spec"]["classes"] = description["classes"] = ["a", "b", "c"]
    (tmp_path / "tiny.json").write_text(json.dumps(description))
    with pytest.raises(FerError, match="3 classes"):
        Recognizer(copy)


def test_parity_on_test_250(shared_data, tmp_path):
    """A real model (6 epochs on Train_1000): ONNX float equals PyTorch, int8 keeps the accuracy."""
    seed = shared_data / "seed"
    fit(FitConfig(data=str(seed / "Train_1000.zip"), out=str(tmp_path / "run"), model="fer_resnet", epochs=6,
                  optimizer="sgd", lr=0.05, weight_decay=5e-4, schedule="cosine"), progress=False)
    result = export_checkpoint(tmp_path / "run" / "last.pt", tmp_path / "out", "real", quantize=True,
                               check=str(seed / "Test_250.zip"))  # raises if a parity limit is missed
    parity = result.description["parity"]
    assert parity["images"] == 822
    assert parity["float_max_abs_logit_diff"] <= 1e-4 and parity["float_top1_agreement"] == 1.0
    assert parity["int8_accuracy_drop"] <= 0.01 and parity["int8_top1_agreement"] >= 0.97
    # it learned something, so agreement is not trivial
    assert parity["pytorch"]["accuracy"] > 0.4
    assert min(parity["pytorch"]["per_class_recall"].values()) > 0
