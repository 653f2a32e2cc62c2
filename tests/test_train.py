import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from fer_runtime.defaults import PRIORS
from fer_runtime.errors import FerError
from fer_runtime.preprocess import model_input
from fer_runtime.spec import PreprocessSpec
from fer_train.augment import AugmentConfig
from fer_train.checkpoint import LoadedModel, load_model
from fer_train.config import CLASS_WEIGHT_POWERS, DISTILL_VIEWS, FitConfig
from fer_train.distill import TeacherEnsemble
from fer_train.evaluate import evaluate
from fer_train.models import build_model
from fer_train.prior import weighted_out
from fer_train.train import class_weights, fit

TINY = {"widths": [8, 16, 16, 16], "blocks": [1, 1, 1, 1], "stem": 8}


def _config(face_zip, out, cache_dir, **overrides) -> FitConfig:
    base = FitConfig(
        data=str(face_zip),
        val=str(face_zip),
        out=str(out),
        model="fer_resnet",
        model_options=TINY,
        epochs=2,
        batch_size=16,
        optimizer="adam",
        lr=3e-3,
        schedule="cosine",
        threads=1,
        cache_dir=str(cache_dir),
        augment=AugmentConfig(rotation_deg=5),
    )
    return replace(base, **overrides)


def test_fit_checkpoint_eval_and_resume(face_zip, tmp_path, cache_dir):
    out = tmp_path / "run"
    first = fit(_config(face_zip, out, cache_dir), progress=False)
    assert [h.epoch for h in first.history] == [1, 2]
    for name in ("last.pt", "best.pt", "metrics.csv", "metrics.json", "curves.png", "config.json"):
        assert (out / name).is_file(), name
    payload = torch.load(out / "last.pt", weights_only=True)
    assert payload["epoch"] == 2 and payload["spec"]["classes"] == ["angry", "happy", "neutral", "sad"]
    assert 0 < payload["spec"]["mean"] < 1 and payload["spec"]["std"] > 0

    result = evaluate(out / "best.pt", face_zip, out / "eval", cache_dir)
    assert result.metrics.total == 49
    assert (out / "eval" / "confusion.png").is_file() and (out / "eval" / "metrics.json").is_file()

    resumed = fit(_config(face_zip, out, cache_dir, epochs=4), resume=True, progress=False)
    assert [h.epoch for h in resumed.history] == [1, 2, 3, 4]
    assert resumed.history[:2] == first.history
    with pytest.raises(FerError, match="already holds a run"):
        fit(_config(face_zip, out, cache_dir), progress=False)
    with pytest.raises(FerError, match="same model"):
        fit(_config(face_zip, out, cache_dir, model="seed_cnn", model_options={}), resume=True, progress=False)


def test_ema_run_in_bfloat16_learns_the_synthetic_task(face_zip, tmp_path, cache_dir):
    out = tmp_path / "ema"
    conv_outputs: set[tuple[bool, torch.dtype]] = set()

    def record(module, inputs, output):
        if isinstance(module, torch.nn.Conv2d):
            conv_outputs.add((module.training, output.dtype))

    hook = torch.nn.modules.module.register_module_forward_hook(record)
    try:
        result = fit(
            _config(
                face_zip,
                out,
                cache_dir,
                epochs=12,
                ema_decay=0.9,
                label_smoothing=0.1,
                class_weights="balanced",
                warmup_epochs=1,
                precision="bf16",
            ),
            progress=False,
        )
    finally:
        hook.remove()
    assert result.best_score >= 0.75
    assert (True, torch.bfloat16) in conv_outputs  # training passes in bfloat16 ...
    assert (False, torch.float32) in conv_outputs and (False, torch.bfloat16) not in conv_outputs  # ... not eval
    loaded = load_model(out / "best.pt")
    assert loaded.checkpoint["train_state_dict"] is not None
    assert all(p.dtype == torch.float32 for p in loaded.model.parameters())
    with pytest.raises(FerError, match="unknown precision"):
        _config(face_zip, out, cache_dir, precision="fp16")


def test_resume_after_kill_9(face_zip, tmp_path, cache_dir):
    out = tmp_path / "killed"
    command = [
        sys.executable,
        "-m",
        "fer_train",
        "-q",
        "fit",
        "--data",
        str(face_zip),
        "--out",
        str(out),
        "--model",
        "seed_cnn",
        "--epochs",
        "200",
        "--batch-size",
        "16",
        "--threads",
        "1",
        "--cache-dir",
        str(cache_dir),
        "--no-progress",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not (out / "last.pt").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.5)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    done = torch.load(out / "last.pt", weights_only=True)["epoch"]
    assert done >= 1
    (out / ".last.pt.x1y2z3.tmp.pt").write_bytes(b"half a checkpoint")  # as a kill during a save leaves
    fit(
        FitConfig(
            data=str(face_zip),
            out=str(out),
            model="seed_cnn",
            epochs=done + 1,
            batch_size=16,
            threads=1,
            cache_dir=str(cache_dir),
        ),
        resume=True,
        progress=False,
    )
    history = torch.load(out / "last.pt", weights_only=True)["history"]
    assert [h["epoch"] for h in history] == list(range(1, done + 2))
    assert not list(out.glob(".*.tmp.*"))


@pytest.mark.slow  # three trainings (a teacher, two students): about 40 s on 2 cores
def test_student_learns_from_teacher_alone_with_mixup(face_zip, tmp_path, cache_dir):
    teacher = fit(
        _config(face_zip, tmp_path / "teacher", cache_dir, epochs=12, warmup_epochs=1, sampling="balanced"),
        progress=False,
    )
    assert teacher.best_score >= 0.75
    # distill_weight 1: the hard labels play no part, so what the student learns comes from the teacher
    for views in DISTILL_VIEWS:  # the teacher's predictions on the clean faces, or on each augmented batch
        student = fit(
            _config(
                face_zip,
                tmp_path / views,
                cache_dir,
                epochs=12,
                warmup_epochs=1,
                mixup_alpha=0.2,
                teachers=(str(tmp_path / "teacher" / "best.pt"),),
                distill_weight=1.0,
                val_every=3,
                distill_views=views,
            ),
            progress=False,
        )
        assert student.best_score >= 0.75, views
        assert [h.epoch for h in student.history if h.validation is not None] == [3, 6, 9, 12]
        saved = load_model(tmp_path / views / "best.pt").checkpoint["config"]
        assert saved["teachers"] == [str(tmp_path / "teacher" / "best.pt")] and saved["mixup_alpha"] == 0.2
        assert saved["distill_views"] == views

    with pytest.raises(FerError, match="teacher"):
        fit(
            _config(
                face_zip,
                tmp_path / "three",
                cache_dir,
                classes=("angry", "happy", "sad"),
                teachers=(str(tmp_path / "teacher" / "best.pt"),),
            ),
            progress=False,
        )


def test_class_weights_divide_each_class_share_out_to_the_power_the_prior_records(tmp_path):
    """Each class's weight is its mass in the targets to the power -p (none 0, halfway 0.5, balanced 1), the
    weights average 1 over the images, and the exported prior records p as the power the graph divides out (1
    more under balanced sampling)."""
    targets = np.array([[1, 0, 0]] * 5 + [[0, 1, 0]] * 2 + [[0.2, 0.3, 0.5]], dtype=np.float32)
    mass = targets.sum(0).astype(np.float64)
    for choice, power in CLASS_WEIGHT_POWERS.items():
        config = FitConfig(data="train.zip", out=str(tmp_path), class_weights=choice)
        assert weighted_out(config) == power
        assert weighted_out(replace(config, sampling="balanced")) == power + 1  # each class drawn equally often
        weights = class_weights(config, targets)
        if power == 0:
            assert weights is None
            continue
        scaled = weights.double().numpy() * mass**power
        assert np.allclose(scaled, scaled[0]), choice
        assert (weights.double().numpy() * mass).sum() / len(targets) == pytest.approx(1.0), choice
    # none, halfway and balanced weights divide out the powers of the trained, halfway and uniform priors
    assert list(CLASS_WEIGHT_POWERS.values()) == list(PRIORS.values())


def test_out_of_range_training_options_are_refused(face_zip, tmp_path, cache_dir):
    for bad in (
        {"mixup_alpha": -1},
        {"cutmix_alpha": -1},
        {"distill_weight": 2},
        {"val_every": 0},
        {"sampling": "oversample"},
        {"distill_views": "noisy"},
    ):
        with pytest.raises(FerError):
            _config(face_zip, tmp_path / "bad", cache_dir, **bad)


def test_teachers_get_the_student_batch_in_their_own_normalisation():
    torch.manual_seed(0)
    pixels = np.random.default_rng(0).integers(0, 256, (8, 48, 48), dtype=np.uint8)
    student_spec = PreprocessSpec(mean=0.5, std=0.25)
    teachers = [
        LoadedModel(build_model("fer_resnet", 4, **TINY).eval(), PreprocessSpec(mean=mean, std=std), {})
        for mean, std in ((0.3, 0.2), (0.6, 0.4))
    ]
    got = TeacherEnsemble.of(teachers, student_spec, temperature=2.0).probabilities(
        torch.from_numpy(model_input(pixels, student_spec))
    )
    with torch.no_grad():
        expected = torch.stack(
            [torch.softmax(t.model(torch.from_numpy(model_input(pixels, t.spec))) / 2.0, 1) for t in teachers]
        ).mean(0)
    assert got.shape == (8, 4)
    assert torch.allclose(got, expected, atol=1e-5)
    assert torch.allclose(got.sum(1), torch.ones(8))


def test_epoch_records_read_and_write_the_run_files_flat():
    from fer_train.epoch_record import BestEpoch, EpochRecord

    validated = {
        "epoch": 3, "lr": 0.01, "train_loss": 1.2, "train_accuracy": 0.5, "train_seconds": 2.0,
        "images_per_second": 100.0, "threads": 2, "world_size": 1, "device": "cpu", "val_loss": 1.0,
        "val_accuracy": 0.6, "val_balanced_accuracy": 0.55, "val_recall": {"angry": 0.5, "happy": 0.6},
        "val_crowd_balanced_accuracy": 0.7, "epoch_seconds": 3.0,
    }  # fmt: skip
    record = EpochRecord.from_json(validated)
    assert list(record.to_json().items()) == list(validated.items())  # the same keys, in the same order
    assert record.validation is not None and record.validation.val_recall == {"angry": 0.5, "happy": 0.6}
    assert record.figure("val_crowd_balanced_accuracy") == 0.7 and record.figure("val_ferplus_accuracy") is None
    written_before_threads = {k: validated[k] for k in ("epoch", "lr", "train_loss", "train_accuracy")} | {
        "train_seconds": 5.0,
        "images_per_second": 80.0,
        "retired_figure": 1,
    }
    old = EpochRecord.from_json(written_before_threads)
    assert old.validation is None and old.threads is None and old.epoch_seconds is None
    assert "retired_figure" not in old.to_json() and old.figure("train_seconds") == 5.0
    assert BestEpoch.from_json({"epoch": 4, "balanced_accuracy": 0.8}, "val_balanced_accuracy") == BestEpoch(
        4, "val_balanced_accuracy", 0.8
    )
