"""Crowd votes: reading and checking the CSV, training targets, the soft-target loss, crowd metrics,
fit with votes (resume included) and the temperature the export fits."""

import csv
import json
import logging
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fer_runtime.defaults import PRIORS
from fer_runtime.errors import FerError
from fer_runtime.model_files import bundled_model_dir, bundled_model_path
from fer_runtime.postprocess import softmax
from fer_runtime.recognizer import Recognizer
from fer_runtime.spec import PreprocessSpec
from fer_train import train as train_module
from fer_train.augment import AugmentConfig
from fer_train.checkpoint import load_model
from fer_train.config import FitConfig
from fer_train.crowd_metrics import crowd_metrics
from fer_train.data import load_dataset
from fer_train.evaluate import evaluate
from fer_train.export import export_checkpoint, format_temperature
from fer_train.predict import Predictor
from fer_train.prior import set_prior, shift_logits, training_prior
from fer_train.temperature import fit_temperature
from fer_train.train import fit
from fer_train.votes import FaceVotes, match_votes, off_class_faces, read_votes, soft_targets
from tests.conftest import CLASSES, TINY_RESNET

HEADER = ["file", "angry", "happy", "neutral", "sad", "contempt", "unknown", "not_face"]


def _write(path: Path, rows: list[list[object]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


def test_votes_are_read_per_file_with_other_answers_apart(tmp_path):
    path = _write(tmp_path / "v.csv", [["Train/x/a.png", 1, 6, 2, 0, 0, 1, 0], ["b.png", 0, 0, 1, 0, 0, 2, 7]])
    table = read_votes(path, CLASSES)
    assert table.rows == {"a.png": 0, "b.png": 1}  # matched on the file name alone
    assert table.counts.tolist() == [[1, 6, 2, 0], [0, 0, 1, 0]]
    assert table.other_total.tolist() == [1, 9] and table.other_max.tolist() == [1, 7]
    votes = match_votes(table, ("happy/a.png", "sad/b.png", "sad/c.png"), "data")
    assert votes.matched.tolist() == [True, True, False]
    assert votes.majority().tolist() == [1, -1, -1]  # b: not_face wins; c: no row
    assert off_class_faces(votes).tolist() == [False, True, False]


@pytest.mark.parametrize(
    "rows, header, message",
    [
        ([["a.png", 1, 2, 3, 4, 0, 0, 0]], ["name", *HEADER[1:]], "line 1: no 'file' column"),
        (
            [["a.png", 1, 2, 3, 0, 0, 0]],
            ["file", "angry", "happy", "neutral", "contempt", "unknown", "not_face"],
            "line 1: no column for class(es) sad",
        ),
        ([["a.png", 1, 2, 3, 4, 0, 0, 0], ["b.png", 1, -2, 3, 4, 0, 0, 0]], HEADER, "line 3: happy is '-2'"),
        ([["a.png", 1, 2, "many", 4, 0, 0, 0]], HEADER, "line 2: neutral is 'many'"),
        ([["a.png", 1, 2, 3, 4, 0, 0, 0], ["dir/a.png", 1, 2, 3, 4, 0, 0, 0]], HEADER, "line 3: a.png repeats line 2"),
        (
            [["a.png", 1, 2, 3, 4, 0, 0, 0]],
            ["file", "angry", "angry", "neutral", "sad", "x", "y", "z"],
            "line 1: a column",
        ),
        ([["a.png", 1, 2]], HEADER, "line 2: 3 fields"),
    ],
)
def test_a_bad_votes_file_is_a_one_line_error_naming_file_and_line(tmp_path, rows, header, message):
    path = _write(tmp_path / "bad.csv", rows, header)
    with pytest.raises(FerError) as error:
        read_votes(path, CLASSES)
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)
    assert "\n" not in str(error.value)


def test_soft_targets_mix_votes_and_labels_and_keep_one_hot_without_votes():
    votes = FaceVotes(np.array([[2.0, 6, 2, 0], [0, 0, 0, 0]]), np.zeros(2), np.zeros(2), np.array([True, False]))
    targets = soft_targets(np.array([0, 3]), votes, 0.5, 4)
    assert np.allclose(targets, [[0.6, 0.3, 0.1, 0.0], [0, 0, 0, 1]])
    assert soft_targets(np.array([0, 3]), votes, 1.0, 4)[0].tolist() == pytest.approx([0.2, 0.6, 0.2, 0])


def test_soft_target_loss_against_a_hand_computation():
    logits = torch.tensor([[2.0, 0.5, -1.0, 0.0]])
    target = torch.tensor([[0.6, 0.3, 0.1, 0.0]])
    weights = torch.tensor([0.5, 1.0, 2.0, 1.0])
    p = torch.exp(logits) / torch.exp(logits).sum()
    by_hand = -(weights * target * torch.log(p)).sum()
    assert float(F.cross_entropy(logits, target, weight=weights)) == pytest.approx(float(by_hand), rel=1e-6)


def test_crowd_metrics_on_a_hand_example():
    votes = FaceVotes(
        np.array([[8.0, 2, 0, 0], [0, 5, 5, 0], [0, 0, 1, 9], [0, 0, 0, 0]]),
        np.zeros(4),
        np.zeros(4),
        np.array([True, True, True, False]),
    )
    probs = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.6, 0.2, 0.1], [0.1, 0.1, 0.6, 0.2], [1, 0, 0, 0]])
    m = crowd_metrics(probs, votes, CLASSES)
    assert m.majority.total == 2 and m.majority.accuracy == 0.5  # the tie and the face without votes left out
    shares = votes.distribution()[:3]
    kl = np.sum(np.where(shares > 0, shares * np.log(np.where(shares > 0, shares, 1) / probs[:3]), 0), 1).mean()
    assert m.kl == pytest.approx(kl) and m.faces_with_votes == 3
    assert m.brier == pytest.approx(((probs[:3] - shares) ** 2).sum(1).mean())
    # top probabilities 0.7, 0.6, 0.6 against rater shares 0.8, 0.5, 0.1
    assert m.reliability.ece == pytest.approx((0.1 + 0.1 + 0.5) / 3)


def test_temperature_recovers_the_one_that_made_the_targets():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (2000, 4))
    targets = softmax(logits, 2.5)
    assert fit_temperature(logits, targets) == pytest.approx(2.5, rel=1e-3)


def _synthetic_votes(face_zip, path: Path) -> Path:
    """Votes for the synthetic faces: 8 for the folder's class, 2 for the next one; two faces whose raters
    mostly answered `unknown`, and one face without a row."""
    data = load_dataset(face_zip, PreprocessSpec(), path.parent / "cache")
    rows = []
    for i, (name, label) in enumerate(zip(data.paths[1:], data.labels[1:])):
        counts = [0, 0, 0, 0]
        counts[label], counts[(label + 1) % 4] = 8, 2
        rows.append([Path(name).name, *counts, 0, 11 if i < 2 else 0, 0])
    return _write(path, rows)


@pytest.fixture(scope="module")
def votes_run(face_zip, tmp_path_factory):
    root = tmp_path_factory.mktemp("votes")
    votes = _synthetic_votes(face_zip, root / "votes.csv")
    config = FitConfig(
        data=str(face_zip),
        val=str(face_zip),
        out=str(root / "run"),
        model="fer_resnet",
        model_options=TINY_RESNET,
        epochs=4,
        batch_size=16,
        optimizer="adam",
        lr=3e-3,
        schedule="cosine",
        threads=1,
        cache_dir=str(root / "cache"),
        mixup_alpha=0.2,
        class_weights="balanced",
        ema_decay=0.9,
        votes=str(votes),
        vote_weight=0.5,
        select_on="crowd",
        augment=AugmentConfig(rotation_deg=5),
    )
    return root, config, fit(config, progress=False)


def test_fit_with_votes_records_them_and_selects_on_the_crowd(votes_run):
    root, config, result = votes_run
    payload = torch.load(root / "run" / "last.pt", weights_only=True)
    record = payload["provenance"]["votes"]
    assert record["path"] == config.votes and len(record["sha256"]) == 64
    assert (record["train_matched"], record["train_off_class"], record["val_matched"]) == (48, 2, 48)
    assert payload["provenance"]["data"]["images"] == 47  # 49 faces, the two mostly-unknown ones left out
    history = [h.to_json() for h in result.history]  # as metrics.json holds them
    assert all("val_crowd_balanced_accuracy" in h and "val_crowd_kl" in h for h in history)
    assert all(0 <= h["val_ferplus_accuracy"] <= h["val_ferplus_class_accuracy"] <= 1 for h in history)
    best = max(history, key=lambda h: h["val_crowd_balanced_accuracy"])
    assert result.best_score == best["val_crowd_balanced_accuracy"] and result.score_name.endswith(
        "crowd balanced accuracy"
    )


def test_resume_with_votes_reproduces_the_history(votes_run, tmp_path, monkeypatch):
    root, config, result = votes_run
    epoch = train_module._train_epoch

    def stop_at_third(step, train, spec, config, number, progress):
        if number == 3:
            raise KeyboardInterrupt  # as a user stopping the run after two epochs
        return epoch(step, train, spec, config, number, progress)

    monkeypatch.setattr(train_module, "_train_epoch", stop_at_third)
    with pytest.raises(KeyboardInterrupt):
        fit(replace(config, out=str(tmp_path / "run")), progress=False)
    monkeypatch.setattr(train_module, "_train_epoch", epoch)
    resumed = fit(replace(config, out=str(tmp_path / "run")), resume=True, progress=False)
    keys = ("train_loss", "train_accuracy", "val_crowd_balanced_accuracy", "val_crowd_kl", "val_balanced_accuracy")
    assert [[h.figure(k) for k in keys] for h in resumed.history] == [
        [h.figure(k) for k in keys] for h in result.history
    ]


def test_few_matched_faces_warn_with_the_count(face_zip, tmp_path, caplog):
    path = _write(tmp_path / "few.csv", [["angry_000.png", 1, 0, 0, 0, 0, 0, 0]])
    data = load_dataset(face_zip, PreprocessSpec(), tmp_path / "cache")
    with caplog.at_level(logging.WARNING):
        match_votes(read_votes(path, CLASSES), data.paths, "faces.zip")
    assert "matches only 1 of the 49 faces of faces.zip" in caplog.text


def test_eval_scores_against_the_votes_and_export_fits_the_temperature_the_runtime_applies(votes_run, face_zip):
    root, config, _ = votes_run
    evaluation = evaluate(root / "run" / "best.pt", face_zip, root / "eval", config.cache_dir, config.votes)
    assert evaluation.crowd is not None and evaluation.crowd.majority.total == 46  # no row, 2 mostly unknown
    written = json.loads((root / "eval" / "metrics.json").read_text())
    assert written["crowd"]["kl"] == pytest.approx(evaluation.crowd.kl)
    assert (root / "eval" / "crowd_reliability.png").is_file()

    result = export_checkpoint(root / "run" / "best.pt", root / "out", "crowd", cache_dir=config.cache_dir)
    fitted = result.description.temperature_fit
    assert fitted is not None and fitted["against"] == "votes" and fitted["votes"] == config.votes
    assert fitted["cross_entropy_after"] <= fitted["cross_entropy_before"]
    temperature = result.description.temperature
    assert temperature == fitted["temperature"] != 1.0
    data = load_dataset(face_zip, result.description.spec, config.cache_dir)
    logits = Predictor(root / "run" / "best.pt").logits(data.pixels)
    expected = softmax(logits.astype(np.float64), temperature)  # the graph as trained: with balanced class
    as_trained = {"prior": "uniform"}  # weights it learned as if the classes were equally likely (in_graph 1)
    assert np.allclose(Recognizer(result.float_path, **as_trained).classify(data.pixels), expected, atol=1e-5)
    assert np.allclose(Predictor(result.float_path, **as_trained).probabilities(data.pixels), expected, atol=1e-5)


def test_export_records_the_training_shares_and_the_runtime_divides_by_them_on_request(votes_run, face_zip, tmp_path):
    root, config, _ = votes_run
    checkpoint = root / "run" / "best.pt"
    train = load_dataset(config.data, PreprocessSpec(), config.cache_dir)
    votes = match_votes(read_votes(config.votes, CLASSES), train.paths, "train")
    kept = ~off_class_faces(votes)  # the run left out the faces whose raters mostly chose another answer
    prior = soft_targets(train.labels[kept], votes.subset(np.nonzero(kept)[0]), 0.5, 4).mean(0)
    assert training_prior(load_model(checkpoint), config.cache_dir) == pytest.approx(prior, abs=1e-6)

    unweighted = replace(config, class_weights="none", out=str(tmp_path / "run"), epochs=2)
    fit(unweighted, progress=False)
    result = export_checkpoint(
        tmp_path / "run" / "best.pt", tmp_path, "fair", cache_dir=config.cache_dir, default_prior="uniform"
    )
    recorded = result.description.prior
    assert recorded is not None and (recorded.in_graph, recorded.default) == (0.0, "uniform")
    assert list(recorded.shares.values()) == pytest.approx(prior, abs=1e-4)
    shares = np.array(list(recorded.shares.values()))
    data = load_dataset(face_zip, result.description.spec, config.cache_dir)
    logits = Predictor(tmp_path / "run" / "best.pt").logits(data.pixels).astype(np.float64)
    trained = softmax(logits, result.description.temperature)  # the graph gives the trained posterior
    assert np.allclose(Recognizer(result.float_path, prior="trained").classify(data.pixels), trained, atol=1e-5)
    uniform = trained / shares
    uniform /= uniform.sum(1, keepdims=True)
    assert np.allclose(Recognizer(result.float_path).classify(data.pixels), uniform, atol=1e-5)  # its default
    assert "class prior" in format_temperature(result.description)
    assert set_prior(export_dir=tmp_path, name="fair", default="trained").prior.default == "trained"
    assert np.allclose(Recognizer(result.float_path).classify(data.pixels), trained, atol=1e-5)  # the new default
    balanced = export_checkpoint(checkpoint, tmp_path / "b", "balanced", cache_dir=config.cache_dir)
    assert balanced.description.prior.in_graph == 1.0  # balanced class weights divide the shares out already


def test_every_prior_whether_the_graph_divides_the_shares_out_or_not(tiny_export, tmp_path):
    """A graph that already divides the shares out (in_graph 1: fer_7class, trained with balanced class weights, as
    graphs exported with the division folded into the last layer) and one that does not (the bundled default) both
    give every prior (the trained posterior divided by the shares to its power); a model that records no prior
    gives only its trained posterior."""
    crops = np.random.default_rng(0).integers(0, 255, (6, 48, 48), dtype=np.uint8)
    graphs = {1.0: bundled_model_dir() / "fer_7class.int8.onnx", 0.0: bundled_model_path()}
    for in_graph, path in graphs.items():
        trained = Recognizer(path, prior="trained")
        prior = trained.description.prior
        assert prior is not None and prior.in_graph == in_graph and Recognizer(path).prior == prior.default
        shares = np.array(list(prior.shares.values()))
        for choice, power in PRIORS.items():
            divided = trained.classify(crops) / shares**power
            expected = divided / divided.sum(1, keepdims=True)
            assert np.allclose(Recognizer(path, prior=choice).classify(crops), expected, atol=1e-9), choice
        halfway = Recognizer(path, prior="halfway").classify(crops)
        assert not np.allclose(halfway, trained.classify(crops))
        assert not np.allclose(halfway, Recognizer(path, prior="uniform").classify(crops))
    root, _ = tiny_export
    shutil.copytree(root / "out", tmp_path / "out")
    described = json.loads((tmp_path / "out" / "tiny.json").read_text())
    described.pop("prior")
    (tmp_path / "out" / "tiny.json").write_text(json.dumps(described))
    assert Recognizer(tmp_path / "out" / "tiny.onnx").prior == "trained"
    with pytest.raises(FerError, match="no class prior recorded"):
        Recognizer(tmp_path / "out" / "tiny.onnx", prior="uniform")
    with pytest.raises(FerError, match="unknown prior 'flat'"):
        Recognizer(prior="flat")


def test_shift_logits_needs_a_linear_output_and_export_a_known_prior(votes_run, tmp_path):
    root, config, _ = votes_run
    probe = torch.randn(4, 6)
    with pytest.raises(FerError, match="not its output"):
        shift_logits(torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.ReLU()), np.full(4, -1.0), probe)
    layer = torch.nn.Linear(6, 4)
    bias = layer.bias.detach().clone()
    moved = shift_logits(layer, np.arange(4.0), probe)
    with torch.no_grad():
        assert np.allclose((moved(probe) - layer(probe)).numpy(), np.arange(4.0), atol=1e-6)
    assert torch.equal(layer.bias, bias)  # the model itself is left as it was
    with pytest.raises(FerError, match="unknown prior"):
        export_checkpoint(root / "run" / "best.pt", tmp_path, default_prior="flat")
