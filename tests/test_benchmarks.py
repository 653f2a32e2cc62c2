"""`python -m benchmarks --quick` as a smoke test: the result has the promised shape (no timings asserted)."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from benchmarks.measure_training import training_speed
from fer_runtime.errors import FerError
from tests.conftest import REPO


@pytest.mark.slow
def test_quick_benchmark_writes_json_and_table(shared_data, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(tmp_path), "--data", str(shared_data)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [json_file] = tmp_path.glob("*-quick.json")
    data = json.loads(json_file.read_text())
    assert data["quick"] is True and data["cpu"]["cores"] >= 1
    assert [m["name"].split(" ")[0] for m in data["models"]] == ["shipped", "fer_small", "seed_cnn"]
    for model in data["models"]:
        assert set(model["speed"]) == {f"{e}/{t}t" for e in ("pytorch", "ort_float", "ort_int8") for t in (1, 2)}
        for figures in model["speed"].values():
            assert figures["batch1_ms"] > 0 and figures["batch64_per_s"] > 0
        assert model["macs_per_image"] > 1e6 and model["parameters"] > 1e5
        assert 0 <= model["balanced_accuracy"]["ort_int8"] <= 1
    assert set(data["cpu"]["measured_float_gmacs"]) == {"1", "2"}
    profiled = {(p["graph"], p["batch"]) for p in data["profile"]}
    assert profiled == {(g, b) for g in ("float", "int8", "int8 (Conv/Gemm only)") for b in (1, 64)}
    for entry in data["profile"]:
        convolutions = {"Conv", "QLinearConv"} & set(entry["op_us"])
        assert entry["run_us"] > 0 and len(convolutions) == 1, entry
    assert data["cold_start"]["fer_run_s"] > 0 and data["cold_start"]["pytorch_script_s"] > 0
    assert (
        data["folder"]["images"] == 100 and data["folder"]["in_process_per_s"] > 0 and data["folder"]["ray_per_s"] > 0
    )
    photos = {d["detector"]: d for d in data["photos"]["detectors"]}
    assert set(photos) == {"yunet", "haar"} and all(
        d["photos"] == 4 and d["faces_pasted"] == 6 for d in photos.values()
    )
    assert data["photos"]["real_photos"]["yunet"] == {"justin.jpg": 1, "no-faces.jpg": 0}
    assert all(v["frames"] == 10 for runs in data["photos"]["video"].values() for v in runs)
    assert data["photos"]["alignment"]["faces"] > 0
    training = data["training"]
    assert set(training["speed"]) == {"fp32", "bf16"} and training["recipe_precision"] in training["speed"]
    assert training["full_images"] == 21_005  # the default classes of fer2013/train.zip, as issue #4 counts them
    assert all(s["images_per_s"] > 0 and s["full_run_min"] > 0 for s in training["speed"].values())
    assert {n: r["threads_each"] for n, r in training["torchrun"].items()} == {"1": 2, "2": 1}
    serve = data["serve"]  # wrk comes from Debian: .ci/run installs it; elsewhere its absence is said
    if "skipped" in serve:
        assert not os.environ.get("CI") and "apt-get install wrk" in serve["skipped"]
    else:
        assert set(serve["crops"]) == {"micro-batching", "one call per request", "2 workers"}
        assert all(run["statuses"].get("200", 0) > 0 and run["exit_status"] == 0 for run in serve["crops"].values())
        assert serve["overload"]["alive_after"] and serve["overload"]["exit_status"] == 0
        assert all(400 <= s < 500 for statuses in serve["bad_inputs"]["statuses"].values() for s in statuses)
    table = (tmp_path / json_file.name.replace(".json", ".md")).read_text()
    assert "| goal | measured | met |" in table and "ORT int8" in table and "Where the time goes" in table
    assert ("was not measured" if "skipped" in serve else "fer-serve at twice its capacity") in table
    assert "one training run of the recipe" in table and "YuNet recall" in table and "torchrun" in table
    peer = data["peer"]  # the fer package is measured only where it is installed (not in CI)
    if "skipped" in peer:
        assert "pip install" in peer["skipped"] and "peer was not measured" in table
    else:
        assert set(peer["speed"]) == {"1t", "2t"}
        assert set(peer["accuracy"]) == {"peer", "fer_default.int8.onnx", "fer_small.int8.onnx"}
        assert all(0 <= a["crowd_balanced_accuracy"] <= 1 for a in peer["accuracy"].values())
        assert "the `fer` peer's crops/s" in table


def test_training_projection_needs_every_recipe_class_in_the_full_data(face_folder, tmp_path):
    angry_only = tmp_path / "angry_only"
    shutil.copytree(face_folder / "Angry", angry_only / "Train" / "Angry")
    with pytest.raises(FerError, match="class\\(es\\) happy, neutral, sad$"):  # not counted as 0 images
        training_speed(REPO / "configs" / "default.toml", face_folder, angry_only, tmp_path / "work")
