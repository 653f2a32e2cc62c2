"""The field's yardstick: FER+'s majority rule on a hand-built votes table (each branch), its metrics, and
`eval` scoring every face of a split whatever its folder."""

import csv
import shutil
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from fer_runtime.errors import FerError
from fer_runtime.spec import PreprocessSpec
from fer_train.data import load_dataset
from fer_train.evaluate import evaluate
from fer_train.ferplus import ferplus_metrics
from fer_train.predict import Predictor
from fer_train.requantize import requantize
from fer_train.votes import ferplus_majority, match_votes, read_votes
from tests.conftest import CLASSES, TINY_RESNET, synthetic_face

ANSWERS = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise", "contempt", "unknown", "not_face"]
RULE_CASES = {  # votes in ANSWERS order → what FER+'s majority mode keeps
    "single votes are outliers": ([0, 0, 0, 8, 1, 0, 0, 0, 1, 0], "happy"),
    "over half of what is left": ([0, 0, 0, 6, 4, 0, 0, 0, 0, 0], "happy"),
    "exactly half is not a majority": ([0, 0, 0, 5, 5, 0, 0, 0, 0, 0], ""),
    "a plurality is not a majority": ([0, 0, 0, 4, 3, 3, 0, 0, 0, 0], ""),
    "ones dropped first, then the majority": ([1, 1, 1, 2, 1, 1, 1, 1, 1, 0], "happy"),
    "only single votes": ([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], ""),
    "unknown wins": ([0, 0, 0, 3, 0, 0, 0, 0, 7, 0], ""),
    "not a face wins": ([0, 0, 0, 2, 0, 0, 0, 0, 0, 8], ""),
    "an emotion the 4-class model lacks": ([0, 0, 0, 0, 2, 0, 0, 6, 2, 0], "contempt"),
    "no votes": ([0] * 10, ""),
}


def _votes_csv(path: Path, rows: dict[str, list[int]]) -> Path:
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([["file", *ANSWERS], *([name, *counts] for name, counts in rows.items())])
    return path


@pytest.mark.parametrize("case", RULE_CASES)
def test_the_majority_rule_branch_by_branch(case):
    counts, expected = RULE_CASES[case]
    is_emotion = np.array([a not in ("unknown", "not_face") for a in ANSWERS])
    [column] = ferplus_majority(np.array([counts], dtype=float), is_emotion)
    assert (ANSWERS[column] if column >= 0 else "") == expected


def test_a_votes_file_gives_each_face_its_ferplus_majority_whatever_the_model_classes(tmp_path):
    path = _votes_csv(tmp_path / "votes.csv", {f"{i}.png": c for i, (c, _) in enumerate(RULE_CASES.values())})
    table = read_votes(path, CLASSES)  # a 4-class model: contempt, disgust... are other answers to it
    faces = tuple(f"x/{i}.png" for i in range(len(RULE_CASES)))
    assert match_votes(table, faces, "data").ferplus.tolist() == [e for _, e in RULE_CASES.values()]


def test_metrics_count_a_class_the_model_lacks_as_wrong_and_leave_it_out_of_its_classes():
    majority = np.array(["happy", "sad", "contempt", "", "angry"], dtype=object)
    predicted = np.array([1, 3, 1, 0, 2])  # happy ✓, sad ✓, (no contempt to say), left out, neutral ✗
    m = ferplus_metrics(predicted, majority, CLASSES)
    assert m.faces == 4 and m.accuracy == pytest.approx(2 / 4)
    assert m.in_classes.total == 3 and m.in_classes.accuracy == pytest.approx(2 / 3)
    assert m.in_classes.per_class_recall == {"angry": 0.0, "happy": 1.0, "neutral": 0.0, "sad": 1.0}


def test_eval_scores_every_face_of_the_split_whatever_its_folder(tiny_export, face_folder, tmp_path):
    root, result = tiny_export
    split = tmp_path / "split" / "Test"
    shutil.copytree(face_folder, split)
    (split / "Surprise").mkdir()
    for i in range(5):  # a folder the 4-class model does not have: FER+ still scores its faces
        cv2.imwrite(str(split / "Surprise" / f"s{i}.png"), synthetic_face(6, i))
    files = sorted(p for p in split.rglob("*.png"))
    rows = {}
    for p in files:
        folder = p.parent.name.lower()
        counts = [0] * len(ANSWERS)
        counts[ANSWERS.index(folder if folder in ANSWERS else "happy")] = 10
        rows[p.name] = counts
    votes = _votes_csv(tmp_path / "votes.csv", rows)
    evaluation = evaluate(result.int8_path, split.parent, votes=votes, cache_dir=str(root / "cache"))
    ferplus = evaluation.crowd.ferplus
    assert ferplus.faces == len(files)  # the surprise faces too
    predictor = Predictor(result.int8_path)
    four = [p for p in files if p.parent.name.lower() != "surprise"]
    predicted = predictor.probabilities(np.stack([cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in four])).argmax(1)
    truth = [CLASSES.index(p.parent.name.lower()) for p in four]
    right = int((predicted == np.array(truth)).sum())
    assert ferplus.accuracy == pytest.approx(right / len(files))  # every surprise face counts as wrong
    assert ferplus.in_classes.total == len(four) and ferplus.in_classes.accuracy == pytest.approx(right / len(four))
    assert "FER+ majority rule" in evaluation.text()


def test_faces_can_take_their_class_from_the_votes_majority_instead_of_their_folder(face_folder, tmp_path):
    files = sorted(face_folder.rglob("*.png"))
    rows = {p.name: [0] * len(ANSWERS) for p in files}
    rows[files[0].name][ANSWERS.index("contempt")] = 8  # a class no folder has
    rows[files[1].name][ANSWERS.index("happy")] = 9
    rows[files[2].name][ANSWERS.index("unknown")] = 9  # no emotion wins: left out
    table = read_votes(_votes_csv(tmp_path / "votes.csv", rows), (*CLASSES, "contempt"))
    spec = PreprocessSpec(classes=(*CLASSES, "contempt"))
    with pytest.raises(FerError, match="contempt"):
        load_dataset(face_folder, spec, tmp_path / "cache")
    faces = load_dataset(face_folder, spec, tmp_path / "cache", labels_from=table)
    assert [Path(p).name for p in faces.paths] == [files[0].name, files[1].name]
    assert faces.labels.tolist() == [4, CLASSES.index("happy")]


def test_a_model_learns_and_is_scored_on_a_class_only_the_votes_name(face_zip, tmp_path):
    from fer_train.config import FitConfig
    from fer_train.export import export_checkpoint
    from fer_train.train import fit

    rows = {}
    for name in sorted(zipfile.ZipFile(face_zip).namelist()):
        if name.endswith(".png"):
            counts = [0] * len(ANSWERS)
            folder = Path(name).parent.name.lower()
            counts[ANSWERS.index("contempt" if folder == "sad" else folder)] = 10  # sad faces read as contempt
            rows[Path(name).name] = counts
    votes = str(_votes_csv(tmp_path / "votes.csv", rows))
    classes = ("angry", "happy", "neutral", "contempt")
    config = FitConfig(
        data=str(face_zip),
        val=str(face_zip),
        out=str(tmp_path / "run"),
        model="fer_resnet",
        model_options=TINY_RESNET,
        classes=classes,
        labels="votes",
        votes=votes,
        select_on="ferplus",
        epochs=1,
        batch_size=16,
        threads=1,
        cache_dir=str(tmp_path / "cache"),
    )
    fit(config, progress=False)
    result = export_checkpoint(tmp_path / "run" / "best.pt", tmp_path / "out", "votes8", check=str(face_zip))
    assert result.description.classes == classes
    evaluation = evaluate(result.float_path, face_zip, votes=votes, cache_dir=str(tmp_path / "cache"))
    assert set(evaluation.metrics.per_class_recall) == set(classes)
    assert evaluation.metrics.total == len(rows)  # every face: the sad folder's as contempt
    assert evaluation.crowd.ferplus.faces == len(rows)
    # `fer-train quantize` calibrates and checks on the same faces, contempt taken from the recorded votes
    requantized = requantize(export_dir=tmp_path / "out", name="votes8", cache_dir=str(tmp_path / "cache"))
    assert requantized.quantization["calibration"]["data"] == str(face_zip)
    assert requantized.parity["data"] == str(face_zip) and requantized.parity["onnx_int8"]["n"] == len(rows)
