"""The graphs made from an export for other targets (fer_train.derived_graphs): the ORT format (ORT Mobile)
and float16 (GPUs), loaded by the runtime like any graph, with the description beside them."""

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from fer_runtime.errors import FerError
from fer_runtime.model_files import METADATA_KEY
from fer_runtime.preprocess import normalize
from fer_runtime.recognizer import Recognizer
from fer_train.cli import main
from fer_train.data import load_dataset


def _inputs(recognizer, face_zip):
    data = load_dataset(face_zip, recognizer.spec)
    return normalize(data.pixels, recognizer.spec.mean, recognizer.spec.std)[:, None]


def test_the_ort_graph_answers_as_the_int8_graph_it_was_made_from(tiny_export, face_zip):
    root, result = tiny_export
    ort_path = result.int8_path.with_suffix(".ort")
    mobile, int8 = Recognizer(ort_path), Recognizer(result.int8_path)
    assert mobile.description == int8.description  # both read tiny.json, after checking their sha256
    x = _inputs(int8, face_zip)
    assert np.abs(mobile.logits(x) - int8.logits(x)).max() <= 1e-5
    embedded = json.loads(mobile.session.get_modelmeta().custom_metadata_map[METADATA_KEY])
    assert embedded["graph"] == "ort"  # the file describes itself when it travels alone
    entry = json.loads(result.json_path.read_text())["graphs"]["ort"]
    operators = (result.json_path.parent / entry["operators"]).read_text()
    assert entry["source"] == "int8" and "QLinearConv" in operators and str(root) not in operators


def test_convert_adds_a_float16_graph_that_the_cpu_provider_runs(tiny_export, face_zip, tmp_path):
    _, result = tiny_export
    folder = tmp_path / "exported"
    shutil.copytree(result.json_path.parent, folder)
    before = json.loads((folder / "tiny.json").read_text())["graphs"]
    run = CliRunner().invoke(main, ["convert", "--export-dir", str(folder), "--name", "tiny", "--to", "fp16"])
    assert run.exit_code == 0, run.output
    assert f"wrote {folder}/tiny.fp16.onnx" in run.output
    graphs = json.loads((folder / "tiny.json").read_text())["graphs"]
    assert {k: v for k, v in graphs.items() if k != "fp16"} == before  # the others untouched
    assert graphs["fp16"]["suits"] == ["cuda", "tensorrt"] and graphs["fp16"]["source"] == "float"
    half, full = Recognizer(folder / "tiny.fp16.onnx", providers=["cpu"]), Recognizer(folder / "tiny.onnx")
    x = _inputs(full, face_zip)
    p_half, p_full = half.probabilities(x), full.probabilities(x)
    assert np.abs(p_half - p_full).max() <= 1e-2
    assert float((p_half.argmax(1) == p_full.argmax(1)).mean()) >= 0.98


def test_a_changed_ort_graph_is_refused(tiny_export, tmp_path):
    _, result = tiny_export
    folder = tmp_path / "exported"
    shutil.copytree(result.json_path.parent, folder)
    with (folder / "tiny.int8.ort").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(FerError, match="does not match tiny.json"):
        Recognizer(folder / "tiny.int8.ort")
