"""`python -m benchmarks.crowd_outputs MODEL...`: each model (.pt or .onnx) on val against the crowd votes,
as trained, with the temperature an export would fit, and (checkpoints) with the prior correction
`export --prior-correction A` folds in: probabilities divided by prior^A, prior = the class shares of the
run's training targets. The tables in docs/crowd.md."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from fer_runtime.markdown import markdown_table
from fer_runtime.postprocess import softmax
from fer_runtime.spec import PreprocessSpec
from fer_train.checkpoint import load_model
from fer_train.crowd_metrics import crowd_metrics
from fer_train.data_root import data_root
from fer_train.evaluate import evaluate_predictions
from fer_train.predict import Predictions, Predictor
from fer_train.prior import prior_offset, training_prior
from fer_train.temperature import fit_temperature
from fer_train.votes import match_votes, read_votes

DATA = data_root()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.crowd_outputs", description=__doc__)
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--data", type=Path, default=DATA, help="The shared data folder.")
    parser.add_argument("--powers", type=float, nargs="+", default=[0.5, 1.0], help="Powers A of the prior.")
    args = parser.parse_args()
    classes = PreprocessSpec().classes
    table = read_votes(args.data / "ferplus" / "votes.csv", classes)
    rows = []
    for path in args.models:
        predictor = Predictor(path)
        val = predictor.load(args.data / "fer2013" / "val.zip")
        votes = match_votes(table, val.paths, "val")
        logits = predictor.logits(val.pixels).astype(np.float64)
        t = fit_temperature(logits[votes.in_class], votes.distribution()[votes.in_class])
        outputs = {"as trained": softmax(logits), f"T {t:.2f}": softmax(logits, t)}
        if path.suffix == ".pt":  # a graph does not record its training targets
            prior = training_prior(load_model(path), None)
            for a in args.powers:
                outputs[f"T, / prior^{a:g}"] = softmax(logits - t * prior_offset(prior, a), t)  # --prior uniform at a=1
        for name, probabilities in outputs.items():
            m = crowd_metrics(probabilities, votes, classes)
            original = evaluate_predictions(Predictions(val, probabilities)).metrics.balanced_accuracy
            recall = "/".join(f"{r:.2f}" for r in m.majority.per_class_recall.values())
            rows.append(
                (
                    path,
                    name,
                    f"{m.majority.balanced_accuracy:.4f}",
                    recall,
                    f"{m.kl:.3f}",
                    f"{m.reliability.ece:.3f}",
                    f"{m.covered_accuracy:.3f}",
                    f"{original:.4f}",
                )
            )
    header = (
        "model", "output", "crowd bal. acc.", "crowd recall", "KL", "ECE", "accuracy at 80% coverage", "original bal. acc.",
    )  # fmt: skip
    print("\n".join(markdown_table(header, rows)))


if __name__ == "__main__":
    main()
