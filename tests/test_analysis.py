"""fer-train eda / report / sweep / compare on the synthetic faces: what they find, what they write, their errors."""

import csv
import json
import shutil
from dataclasses import replace

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import synthetic_face, write_face_folder

from fer_runtime.errors import FerError
from fer_train.analysis import sweep as sweep_module
from fer_train.analysis.compare import recipe_differences, run_compare
from fer_train.analysis.duplicates import has_near_copy, near_pairs, non_blank_hashes, phash
from fer_train.analysis.eda import run_eda
from fer_train.analysis.report import bootstrap_intervals, per_class_scores, reliability, run_report
from fer_train.analysis.sweep import apply, expand, parse_grid, run_sweep
from fer_train.cli import main
from fer_train.config import FitConfig
from fer_train.metrics import compute_metrics
from fer_train.train import fit


def natural_image(seed: int, size: int = 48) -> np.ndarray:
    """A smooth random image with the 1/f spectrum of natural photos (noise alone hashes unstably)."""
    rng = np.random.default_rng(seed)
    freq = np.hypot(*np.meshgrid(np.fft.fftfreq(size), np.fft.fftfreq(size)))
    spectrum = (rng.normal(size=(size, size)) + 1j * rng.normal(size=(size, size))) / np.maximum(freq, 1 / size) ** 1.5
    return cv2.normalize(np.real(np.fft.ifft2(spectrum)), None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)


def test_perceptual_hash_finds_reencoded_copies_and_separates_other_images():
    face = natural_image(0)
    jpeg = cv2.imdecode(cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, 60])[1], cv2.IMREAD_GRAYSCALE)
    relit = cv2.convertScaleAbs(face, alpha=0.85, beta=20)
    hashes = phash(np.stack([face, jpeg, relit, natural_image(1)]))
    within = near_pairs(hashes, max_distance=4)
    assert {(int(i), int(j)) for i, j in zip(within.first, within.second)} == {(0, 1), (0, 2), (1, 2)}
    across = near_pairs(hashes[:1], hashes[2:], max_distance=4)
    assert list(across.first) == [0] and list(across.second) == [0] and across.distance[0] <= 4


def test_near_copies_of_a_reference_set_skip_blank_faces():
    reference = np.stack([natural_image(i) for i in range(6)] + [np.full((48, 48), 128, np.uint8)])
    relit = cv2.convertScaleAbs(natural_image(2), alpha=0.9, beta=10)
    faces = np.stack([relit, natural_image(10), natural_image(11), np.full((48, 48), 127, np.uint8), natural_image(5)])
    shown, hashes = non_blank_hashes(reference)
    assert shown.tolist() == [0, 1, 2, 3, 4, 5]
    assert has_near_copy(faces, hashes).tolist() == [True, False, False, False, True]


def test_eda_counts_classes_blanks_and_cross_split_copies(tmp_path):
    train = write_face_folder(tmp_path / "a", per_class=6, corrupt=False)
    test = tmp_path / "b" / "Test"
    for name in ("angry", "happy", "neutral", "sad"):
        (test / name).mkdir(parents=True)
    for label, name in enumerate(("angry", "happy", "neutral", "sad")):
        cv2.imwrite(str(test / name / "new.png"), synthetic_face(label, 100))
    shutil.copy(next((train / "Angry").glob("*.png")), test / "angry" / "copied.png")  # an exact copy
    cv2.imwrite(str(test / "sad" / "blank.png"), np.full((48, 48), 128, np.uint8))

    report = run_eda([train, test], tmp_path / "eda", cache_dir=tmp_path / "cache")
    first, second = report.splits
    assert first.name == "Train" and second.name == "Test"
    assert first.counts == {"angry": 6, "happy": 7, "neutral": 6, "sad": 6}
    assert second.blank.count == 1 and second.blank.files == ("sad/blank.png",)
    cross = report.across[0]
    assert cross.exact.second == 1 and cross.near.second >= 1
    stored = json.loads((tmp_path / "eda" / "eda.json").read_text())
    assert stored == json.loads(json.dumps(report.to_json()))
    assert {"in", "and", "bits"} == set(stored["across"][0]["examples"][0])
    written = {p.name for p in (tmp_path / "eda").iterdir()}
    assert {
        "report.md",
        "eda.json",
        "class_distribution.png",
        "intensity_histograms.png",
        "brightness_contrast.png",
        "samples_Train.png",
        "mean_face_Train.png",
    } <= written
    text = (tmp_path / "eda" / "report.md").read_text()
    for name in ("angry", "happy", "neutral", "sad", "Blank", "Duplicates across splits"):
        assert name in text

    no_faces = run_eda([train], tmp_path / "eda2", cache_dir=tmp_path / "cache", face_images=False)
    assert no_faces.face_images_omitted
    assert not list((tmp_path / "eda2").glob("samples_*")) and not list((tmp_path / "eda2").glob("mean_face_*"))


def test_metrics_helpers_on_known_values():
    labels = np.array([0, 0, 0, 1, 1, 2])
    predicted = np.array([0, 0, 1, 1, 1, 0])
    scores = per_class_scores(compute_metrics(labels, predicted, ["a", "b", "c"]))
    assert scores["a"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3})
    assert scores["b"]["precision"] == pytest.approx(2 / 3) and scores["b"]["recall"] == 1.0
    assert scores["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}

    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.3, 1.0, 20000)
    calibrated = reliability(confidence, rng.uniform(size=confidence.size) < confidence)
    overconfident = reliability(confidence, rng.uniform(size=confidence.size) < confidence - 0.2)
    assert calibrated.ece < 0.02 and overconfident.ece == pytest.approx(0.2, abs=0.02)
    assert calibrated.counts.sum() == confidence.size

    labels = rng.integers(0, 3, 400)
    predicted = np.where(rng.uniform(size=400) < 0.7, labels, (labels + 1) % 3)
    point = compute_metrics(labels, predicted, ["a", "b", "c"]).accuracy
    low, high = bootstrap_intervals(labels, predicted, ["a", "b", "c"], samples=300)["accuracy"]
    assert low < point < high and 0.03 < high - low < 0.15


def test_report_treats_checkpoint_and_onnx_alike(tiny_export, face_zip, tmp_path):
    root, result = tiny_export
    from_checkpoint = run_report(root / "run" / "best.pt", [face_zip], tmp_path / "pt", cache_dir=root / "cache")
    from_onnx = run_report(
        result.float_path, [face_zip], tmp_path / "onnx", cache_dir=root / "cache", face_images=False
    )
    pt, onnx = from_checkpoint["splits"][0], from_onnx["splits"][0]
    assert pt["confusion"] == onnx["confusion"] and pt["n"] == 49
    fitted = result.description.temperature_fit  # the export fitted its temperature on these same faces
    assert pt["ece"] == pytest.approx(fitted["ece_before"], abs=1e-4)  # the checkpoint's plain softmax
    assert onnx["ece"] == pytest.approx(fitted["ece_after"], abs=1e-4)  # the graph's, with the temperature
    low, high = pt["intervals_95"]["balanced_accuracy"]
    assert low <= pt["balanced_accuracy"] <= high
    assert set(pt["per_class"]) == {"angry", "happy", "neutral", "sad"}
    for name in (
        "report.md",
        "report.json",
        "faces/confusion.png",
        "faces/reliability.png",
        "faces/confident_errors.png",
    ):
        assert (tmp_path / "pt" / name).is_file(), name
    assert not (tmp_path / "onnx" / "faces" / "confident_errors.png").exists()


def test_report_without_near_copies_of_the_training_set(tiny_export, tmp_path):
    root, _ = tiny_export
    train, test = tmp_path / "train" / "Train", tmp_path / "test" / "Test"
    for label, name in enumerate(("angry", "happy", "neutral", "sad")):
        (train / name).mkdir(parents=True)
        (test / name).mkdir(parents=True)
        for i in range(3):
            cv2.imwrite(str(train / name / f"{i}.png"), natural_image(10 * label + i))
            cv2.imwrite(str(test / name / f"new{i}.png"), natural_image(100 + 10 * label + i))
        cv2.imwrite(str(test / name / "copy.jpg"), natural_image(10 * label))  # re-encoded copy of a training face

    report = run_report(
        root / "run" / "best.pt",
        [test],
        tmp_path / "report",
        cache_dir=tmp_path / "cache",
        face_images=False,
        train=train,
    )
    full, unseen = report["splits"]
    assert (full["name"], full["n"]) == ("Test", 16)
    assert (unseen["name"], unseen["n"]) == ("Test-unseen", 12) and unseen["left_out"]["count"] == 4
    assert all(c["support"] == 3 for c in unseen["per_class"].values())
    assert "leaves out the 4 faces" in (tmp_path / "report" / "report.md").read_text()
    assert (tmp_path / "report" / "Test-unseen" / "confusion.png").is_file()
    with pytest.raises(FerError, match="every face has a near copy"):
        run_report(root / "run" / "best.pt", [train], tmp_path / "again", cache_dir=tmp_path / "cache", train=train)


def test_grid_parsing_expansion_and_routing():
    grid = parse_grid(["optimizer=adam,sgd", "lr=0.001,1e-2", "pooling=max,avg", "augment.flip=true,false"])
    assert grid["lr"] == [0.001, 0.01] and grid["augment.flip"] == [True, False]
    assert len(expand(grid)) == 16
    points = expand(grid, one_at_a_time=True)
    assert len(points) == 5 and points[0] == {"optimizer": "adam", "lr": 0.001, "pooling": "max", "augment.flip": True}
    config = apply(FitConfig(data="d", out="o"), {"lr": 0.01, "pooling": "avg", "augment.flip": False})
    assert config.lr == 0.01 and config.model_options == {"pooling": "avg"} and config.augment.flip is False
    for bad in (["lr"], ["lr="], ["lr=1", "lr=2"], []):
        with pytest.raises(FerError):
            parse_grid(bad)
    with pytest.raises(FerError, match="augment"):
        apply(FitConfig(data="d", out="o"), {"augment.nope": 1})


def test_sweep_runs_each_point_once_and_resumes(face_zip, tmp_path, monkeypatch):
    base = FitConfig(
        data=str(face_zip),
        val=str(face_zip),
        out=str(tmp_path),
        model="fer_resnet",
        model_options={"widths": [8, 8, 8, 8], "blocks": [1, 1, 1, 1], "stem": 8},
        epochs=2,
        val_every=2,
        batch_size=16,
        threads=1,
        cache_dir=str(tmp_path / "cache"),
    )
    grid = {"lr": [0.003, 0.01], "optimizer": ["adam", "sgd"]}
    rows = run_sweep(base, grid, tmp_path / "sweep", seeds=2, one_at_a_time=True, progress=False)
    assert len(rows) == 6 and {r["seed"] for r in rows} == {0, 1}
    with (tmp_path / "sweep" / "results.csv").open() as handle:
        saved = list(csv.DictReader(handle))
    assert len(saved) == 6 and all(0 <= float(r["best_score"]) <= 1 for r in saved)
    history = json.loads((tmp_path / "sweep" / "runs" / saved[0]["run"] / "metrics.json").read_text())
    assert ["val_loss" in h for h in history] == [False, True]
    summary = (tmp_path / "sweep" / "summary.md").read_text()
    assert " ± " in summary and (tmp_path / "sweep" / "factor_lr.png").is_file()

    def no_training(*args, **kwargs):
        raise AssertionError("a finished configuration was trained again")

    monkeypatch.setattr(sweep_module, "fit", no_training)
    assert len(run_sweep(base, grid, tmp_path / "sweep", seeds=2, one_at_a_time=True, progress=False)) == 6


def test_compare_tables_recipe_differences_and_best_epochs(face_zip, tmp_path):
    base = FitConfig(
        data=str(face_zip),
        val=str(face_zip),
        out=str(tmp_path / "base"),
        model="fer_resnet",
        model_options={"widths": [8, 8, 8, 8], "blocks": [1, 1, 1, 1], "stem": 8},
        epochs=2,
        batch_size=16,
        threads=1,
        cache_dir=str(tmp_path / "cache"),
    )
    mixed = replace(base, out=str(tmp_path / "mixed"), epochs=2, mixup_alpha=0.2)
    fit(mixed, progress=False)
    results = [fit(base, progress=False), fit(replace(mixed, epochs=3, threads=2), resume=True, progress=False)]
    unfinished = tmp_path / "unfinished"
    shutil.copytree(tmp_path / "base", unfinished)
    history = json.loads((unfinished / "metrics.json").read_text())
    del history[0]["threads"]  # an epoch written before fit recorded threads: the config's setting is shown
    (unfinished / "metrics.json").write_text(json.dumps(history[:1]))
    partly = tmp_path / "partly_recorded"  # epoch 1 unrecorded, then mixed's epochs 2 (1 thread) and 3 (2 threads)
    shutil.copytree(tmp_path / "mixed", partly)
    (partly / "metrics.json").write_text(json.dumps([history[0], *(h.to_json() for h in results[1].history[1:])]))
    config = json.loads((unfinished / "config.json").read_text())
    del config["mixup_alpha"]  # a config written before the setting existed: read at its default
    (unfinished / "config.json").write_text(json.dumps(config))

    runs = run_compare([tmp_path / "base", tmp_path / "mixed", unfinished, partly], tmp_path / "cmp")
    for run, result in zip(runs, results):
        epoch, best = run.best
        assert (epoch, best.val_balanced_accuracy) == (result.best_epoch, result.best_score)
    assert [run.finished for run in runs] == [True, True, False, True]
    assert recipe_differences(runs[0].config, runs[1].config) == {"epochs": (2, 3), "mixup_alpha": (0.0, 0.2)}
    assert recipe_differences(runs[0].config, runs[2].config) == {}
    rows = [line for line in (tmp_path / "cmp" / "compare.md").read_text().splitlines() if line.startswith("| ")]
    assert rows[1].startswith("| base | baseline |") and rows[1].endswith("min (1 thread) |")
    assert rows[2].startswith("| mixed | epochs 2 → 3; mixup_alpha 0.0 → 0.2 |")
    assert rows[2].endswith("min (1 thread: 2 epochs, 2 threads: 1 epoch) |")  # resumed with another --threads
    assert rows[3].startswith("| unfinished | same recipe |") and rows[3].endswith("(1 thread, running: 1/2 epochs) |")
    assert rows[4].endswith("min (not recorded: 1 epoch, 1 thread: 1 epoch, 2 threads: 1 epoch) |")
    assert all((tmp_path / "cmp" / name).is_file() for name in ("val_curves.png", "recall.png"))


def test_analysis_commands_and_their_errors(face_zip, tmp_path):
    runner = CliRunner()
    eda = runner.invoke(
        main,
        [
            "-q",
            "eda",
            "--data",
            str(face_zip),
            "--out",
            str(tmp_path / "eda"),
            "--cache-dir",
            str(tmp_path / "c"),
            "--no-face-images",
        ],
    )
    assert eda.exit_code == 0, eda.output
    assert "faces: 49 images" in eda.output and (tmp_path / "eda" / "report.md").is_file()
    for args in (
        [
            "sweep",
            "--data",
            str(face_zip),
            "--val",
            str(face_zip),
            "--grid",
            "kernel=3",
            "--out",
            str(tmp_path / "s"),
            "--model",
            "fer_resnet",
        ],
        ["sweep", "--data", str(face_zip), "--val", str(face_zip), "--grid", "lr", "--out", str(tmp_path / "s")],
        ["report", "--model", str(face_zip), "--data", str(face_zip), "--out", str(tmp_path / "r")],
        ["compare", str(tmp_path), "--out", str(tmp_path / "cmp")],
        ["compare", str(tmp_path), str(tmp_path), "--name", "one", "--out", str(tmp_path / "cmp")],
    ):
        cache = ["--cache-dir", str(tmp_path / "c")] if args[0] != "compare" else []
        result = runner.invoke(main, ["-q", *args, *cache])
        assert result.exit_code == 1, (args, result.output)
        assert result.output.startswith("Error: ") and len(result.output.strip().splitlines()) == 1, result.output
