"""The field's yardstick: FER+'s majority rule on a hand-built votes table (each branch), its metrics, and
`eval` scoring every face of a split whatever its folder."""

import csv
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from fer_train.evaluate import evaluate
from fer_train.ferplus import ferplus_metrics
from fer_train.predict import Predictor
from fer_train.votes import ferplus_majority, match_votes, read_votes
from tests.conftest import CLASSES, synthetic_face

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
