import json
import shutil

import numpy as np
import onnx
import pytest

from fer_runtime.errors import FerError
from fer_runtime.model_files import METADATA_KEY, read_description
from fer_runtime.preprocess import normalize
from fer_runtime.recognizer import Recognizer
from fer_runtime.spec import PreprocessSpec
from fer_train.card import write_model_card
from fer_train.checkpoint import load_model, save_checkpoint
from fer_train.config import FitConfig
from fer_train.data import load_dataset, load_every_face
from fer_train.data_root import ENV, locate
from fer_train.export import export_checkpoint
from fer_train.graph_model import load_any_model
from fer_train.models import build_model
from fer_train.parity import INT8_MIN_AGREEMENT
from fer_train.predict import Predictor, predict_logits
from fer_train.requantize import requantize
from fer_train.train import fit
from tests.conftest import REPO, TINY_RESNET


def test_export_writes_checked_graphs_and_description(tiny_export):
    root, result = tiny_export
    written = ["tiny.int8.onnx", "tiny.int8.ort", "tiny.json", "tiny.onnx", "tiny.required_operators.config"]
    assert sorted(p.name for p in (root / "out").iterdir()) == written
    graph = onnx.load(str(result.float_path))
    assert not [n for n in graph.graph.node if n.op_type == "BatchNormalization"]
    int8 = onnx.load(str(result.int8_path)).graph
    dequantized = {n.output[0] for n in int8.node if n.op_type == "DequantizeLinear"}
    weights = {n.name: n.input[1] in dequantized for n in int8.node if n.op_type == "Conv"}
    stem = next(iter(weights))  # the first convolution reads the gray face: one input channel, kept float
    assert not weights.pop(stem) and weights and all(weights.values())  # every other one reads int8 weights
    description = json.loads(result.json_path.read_text())
    assert description["classes"] == ["angry", "happy", "neutral", "sad"]
    assert set(description["graphs"]) == {"float", "int8", "ort"}  # ORT Mobile's format of the int8 graph
    assert [description["graphs"][kind]["suits"][0] for kind in ("float", "int8", "ort")] == ["cpu"] * 3
    parity = description["parity"]
    assert parity["float_max_abs_logit_diff"] <= 1e-4 and parity["float_top1_agreement"] == 1.0
    for kind, path in (("float", result.float_path), ("int8", result.int8_path)):
        embedded = json.loads({p.key: p.value for p in onnx.load(str(path)).metadata_props}[METADATA_KEY])
        assert embedded["graph"] == kind and "graphs" not in embedded  # a graph cannot hold its own sha256
        assert {k: v for k, v in embedded.items() if k != "graph"} == {
            k: v for k, v in description.items() if k not in ("graphs", "parity")
        }
    assert embedded["quantization"]["weights"] == "int8 per-channel, 7-bit range"
    assert embedded["quantization"]["float"] == "convolutions over one input channel"
    assert description["provenance"]["probe_max_abs_logit_diff"] <= 1e-4  # ONNX Runtime against PyTorch
    framing = description["provenance"]["framing"]  # bars, not faces: no template, crops by box and margin
    assert framing["found"] < framing["faces"] / 2 and description["spec"]["landmark_template"] == []


def test_runtime_matches_pytorch(tiny_export, face_zip):
    root, result = tiny_export
    loaded = load_model(root / "run" / "best.pt")
    data = load_dataset(face_zip, loaded.spec, root / "cache")
    expected = predict_logits(loaded.model, data.pixels, loaded.spec)
    recognizer = Recognizer(result.float_path)
    got = recognizer.logits(normalize(data.pixels, loaded.spec.mean, loaded.spec.std)[:, None])
    assert np.abs(got - expected).max() <= 1e-4
    assert np.array_equal(got.argmax(1), expected.argmax(1))
    assert recognizer.spec == loaded.spec


def test_exported_float_graph_loads_back_into_pytorch(tiny_export, face_zip):
    """A shipped graph can teach: its float graph becomes the folded PyTorch model giving the graph's logits."""
    root, result = tiny_export
    loaded = load_any_model(result.float_path)
    data = load_dataset(face_zip, loaded.spec, root / "cache")
    got = predict_logits(loaded.model, data.pixels, loaded.spec)
    expected = Recognizer(result.float_path).logits(normalize(data.pixels, loaded.spec.mean, loaded.spec.std)[:, None])
    assert np.abs(got - expected).max() <= 1e-4 and loaded.spec == load_model(root / "run" / "best.pt").spec
    with pytest.raises(FerError, match="float graph"):
        load_any_model(result.int8_path)


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
    with pytest.raises(FerError, match="prior's shares must be positive numbers for the classes a, b, c"):
        Recognizer(copy)
    description.pop("prior")
    (tmp_path / "tiny.json").write_text(json.dumps(description))
    with pytest.raises(FerError, match="3 classes"):
        Recognizer(copy)


@pytest.mark.slow
def test_parity_on_test_250(shared_data, tmp_path):
    """A real model (6 epochs on Train_1000): ONNX float equals PyTorch, int8 keeps the accuracy."""
    seed = shared_data / "seed"
    cache = str(tmp_path / "cache")  # not the user's ~/.cache/fer
    fit(
        FitConfig(
            data=str(seed / "Train_1000.zip"),
            out=str(tmp_path / "run"),
            model="fer_resnet",
            epochs=6,
            optimizer="sgd",
            lr=0.05,
            weight_decay=5e-4,
            schedule="cosine",
            cache_dir=cache,
        ),
        progress=False,
    )
    result = export_checkpoint(
        tmp_path / "run" / "last.pt",
        tmp_path / "out",
        "real",
        quantize=True,
        check=str(seed / "Test_250.zip"),
        cache_dir=cache,
        val=str(seed / "Test_100.zip"),
    )  # raises if a limit is missed
    framing = result.description.provenance["framing"]  # YuNet found the faces: crops will be aligned
    assert framing["found"] >= 0.9 * framing["faces"]
    (rx, ry), (lx, ly) = np.reshape(result.description.spec.landmark_template, (-1, 2))[:2]
    assert rx < lx and abs(ry - ly) < 0.03
    assert Recognizer(result.float_path).spec.landmark_template == result.description.spec.landmark_template
    parity = result.description.parity
    assert parity is not None
    assert parity["images"] == 822
    assert parity["float_max_abs_logit_diff"] <= 1e-4 and parity["float_top1_agreement"] == 1.0
    assert parity["int8_accuracy_drop"] <= 0.01 and parity["int8_top1_agreement"] >= 0.97
    # it learned something, so agreement is not trivial
    assert parity["pytorch"]["accuracy"] > 0.4
    assert min(parity["pytorch"]["per_class_recall"].values()) > 0


def test_card_states_what_it_measured(tiny_export, face_zip, tmp_path):
    root, result = tiny_export
    folder = tmp_path / "card"
    shutil.copytree(root / "out", folder)
    card = write_model_card(folder, "tiny", [str(face_zip)], cache_dir=str(root / "cache")).read_text()
    assert "A 4-class facial-emotion classifier" in card and "48x48 grayscale face crops" in card
    assert "on 1 torch thread(s)" in card and "CPU cores" not in card  # the tiny run trained on one thread
    assert "faces.zip angry 12, happy 13, neutral 12, sad 12" in card  # the split's own class counts
    assert "Test_250" not in card
    for kind in ("float", "int8"):
        metrics = Predictor(folder / f"tiny{'.int8' if kind == 'int8' else ''}.onnx").predict(face_zip, root / "cache")
        accuracy = float((metrics.predicted == metrics.dataset.labels).mean())
        assert f"| faces.zip | {kind} | 49 | {accuracy:.4f} |" in card
    temperature = result.description.temperature
    assert f"softmax(logits / {temperature:.3f})" in card


def test_requantize_rebuilds_the_int8_graph_from_the_float_one(tiny_export, face_zip, tmp_path):
    root, result = tiny_export
    folder = tmp_path / "exported"
    shutil.copytree(root / "out", folder)
    moved = json.loads((folder / "tiny.json").read_text())  # as if the data it was made from were elsewhere
    moved["quantization"]["calibration"]["data"] = moved["provenance"]["data"]["path"] = str(tmp_path / "gone.zip")
    (folder / "tiny.json").write_text(json.dumps(moved))
    with pytest.raises(FerError, match="pass --calib DATA"):
        requantize(export_dir=folder, name="tiny", cache_dir=str(root / "cache"))
    updated = requantize(
        export_dir=folder, name="tiny", calib=str(face_zip), check=str(face_zip), cache_dir=str(root / "cache")
    )
    assert updated.quantization is not None and "requantized_at" in updated.quantization
    assert updated.parity is not None and updated.parity["data"] == str(face_zip)
    assert updated.parity["float_top1_agreement"] == 1.0  # the float graph's record is kept
    for graph in ("tiny.onnx", "tiny.int8.onnx"):  # loads: the JSON's sha256 matches each rewritten graph
        recognizer = Recognizer(folder / graph)
        assert recognizer.description.quantization == updated.quantization
    float_logits = Predictor(folder / "tiny.onnx").logits(load_dataset(face_zip, updated.spec).pixels)
    assert np.allclose(float_logits, Predictor(result.float_path).logits(load_dataset(face_zip, updated.spec).pixels))


@pytest.mark.parametrize("json_path", sorted((REPO / "exported").glob("*.json")), ids=lambda p: p.stem)
def test_every_shipped_int8_graph_agrees_with_its_float_graph(json_path, shared_data, monkeypatch):
    """On every face of the data its parity was recorded on (agreement needs no labels, so a class without a
    folder is no matter), on this machine's CPU (AVX2 kernels differ from VNNI ones)."""
    description = read_description(json_path)
    monkeypatch.setenv(ENV, str(shared_data))  # recorded relative to the data root (or as ../shared/data)
    data = locate(description.parity["data"])
    dataset = load_every_face(data, description.spec)
    graphs = {
        kind: Predictor(json_path.parent / g.file).logits(dataset.pixels) for kind, g in description.graphs.items()
    }
    agreement = float((graphs["int8"].argmax(1) == graphs["float"].argmax(1)).mean())
    assert agreement >= INT8_MIN_AGREEMENT, f"{json_path.stem}: int8 agrees with float on {agreement:.2%}"
    if "ort" in graphs:  # the ORT format runs its source's kernels
        assert np.abs(graphs["ort"] - graphs[description.graphs["ort"].derived.source]).max() <= 1e-4


def test_a_checkpoint_without_its_recipe_exports_its_trained_posterior_only(tmp_path):
    """No recipe, no training data to rebuild the class shares from: no prior, and `uniform` is refused."""
    spec = PreprocessSpec(classes=("angry", "happy", "neutral", "sad"))
    model = build_model("fer_resnet", 4, **TINY_RESNET)
    path = tmp_path / "bare.pt"
    save_checkpoint(
        path,
        {
            "model": {"name": "fer_resnet", "options": TINY_RESNET},
            "spec": spec.to_dict(),
            "state_dict": model.state_dict(),
        },
    )
    assert export_checkpoint(path, tmp_path / "out", "bare").description.prior is None
    with pytest.raises(FerError, match="no recipe"):
        export_checkpoint(path, tmp_path / "out2", "bare", default_prior="uniform")
