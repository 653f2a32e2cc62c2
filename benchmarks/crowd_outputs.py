"""`python -m benchmarks.crowd_outputs MODEL...`: each model (.pt or .onnx) on val against the crowd votes,
as trained, with the temperature an export would fit, and with a prior correction (probabilities divided
by prior^a, prior = the raters' class shares over the training faces). The table in docs/crowd.md."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from fer_runtime.recognizer import softmax
from fer_runtime.spec import PreprocessSpec
from fer_train.calibrate import fit_temperature
from fer_train.crowd_metrics import crowd_metrics
from fer_train.data import load_dataset
from fer_train.evaluate import score
from fer_train.scoring import Predictions, Scorer
from fer_train.votes import match_votes, read_votes

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.crowd_outputs", description=__doc__)
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--data", type=Path, default=DATA, help="The shared data folder.")
    args = parser.parse_args()
    classes = PreprocessSpec().classes
    table = read_votes(args.data / "ferplus" / "votes.csv", classes)
    train = load_dataset(args.data / "fer2013" / "train.zip", PreprocessSpec())
    prior = match_votes(table, train.paths, "train").distribution().mean(0)
    print("raters' class shares over the training faces: " + ", ".join(f"{c} {p:.3f}" for c, p in zip(classes, prior)))
    print(
        "| model | output | crowd bal. acc. | crowd recall | KL | ECE | accuracy at 80% coverage | original bal. acc. |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for path in args.models:
        scorer = Scorer(path)
        val = scorer.load(args.data / "fer2013" / "val.zip")
        votes = match_votes(table, val.paths, "val")
        logits = scorer.logits(val.pixels).astype(np.float64)
        t = fit_temperature(logits[votes.in_class], votes.distribution()[votes.in_class])
        outputs = {"as trained": softmax(logits), f"T {t:.2f}": softmax(logits, t)}
        for a in (0.5, 1.0):
            corrected = softmax(logits, t) / prior**a
            outputs[f"T, / prior^{a:g}"] = corrected / corrected.sum(1, keepdims=True)
        for name, probabilities in outputs.items():
            m = crowd_metrics(probabilities, votes, classes)
            original = score(Predictions(val, probabilities)).metrics.balanced_accuracy
            recall = "/".join(f"{r:.2f}" for r in m.majority.per_class_recall.values())
            print(
                f"| {path} | {name} | {m.majority.balanced_accuracy:.4f} | {recall} | {m.kl:.3f} | "
                f"{m.calibration.ece:.3f} | {m.covered_accuracy:.3f} | {original:.4f} |"
            )


if __name__ == "__main__":
    main()
