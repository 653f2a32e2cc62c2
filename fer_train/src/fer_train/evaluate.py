"""Score a model (checkpoint or exported graph) on a dataset: on the folder labels and, given crowd
votes, against what the raters saw. `fer-train eval` writes the results."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fer_runtime.atomic import write_text
from fer_train.crowd_metrics import CrowdMetrics, crowd_metrics, format_crowd
from fer_train.data_root import record
from fer_train.ferplus import score_ferplus
from fer_train.metrics import Metrics, compute_metrics, format_table
from fer_train.plots import plot_confusion, plot_reliability
from fer_train.predict import Predictions, Predictor
from fer_train.votes import VoteTable, match_votes, read_votes


@dataclass(frozen=True)
class Evaluation:
    metrics: Metrics  # against the folder (original) labels
    predictions: Predictions
    crowd: CrowdMetrics | None  # against the votes, when given

    def to_dict(self) -> dict[str, Any]:
        return {**self.metrics.to_dict(), "crowd": self.crowd.to_dict() if self.crowd else None}

    def text(self, title: str = "") -> str:
        table = format_table(self.metrics, title)
        return table + ("\n" + format_crowd(self.crowd) if self.crowd else "")


def with_ferplus(
    evaluation: Evaluation,
    predictor: Predictor,
    data: str | os.PathLike[str],
    table: VoteTable,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Evaluation:
    """The evaluation with FER+'s yardstick added: `predictor` scored on every face of `data` the rule keeps."""
    if evaluation.crowd is None:
        return evaluation
    ferplus = score_ferplus(predictor.probabilities, data, predictor.spec, table, cache_dir)
    return replace(evaluation, crowd=replace(evaluation.crowd, ferplus=ferplus))


def evaluate_predictions(predictions: Predictions, votes: VoteTable | None = None) -> Evaluation:
    """The figures of predictions on their dataset (and against the votes of its faces)."""
    data = predictions.dataset
    metrics = compute_metrics(data.labels, predictions.predicted, data.classes)
    crowd = None
    if votes is not None:
        crowd = crowd_metrics(predictions.probabilities, match_votes(votes, data.paths, data.source), data.classes)
    return Evaluation(metrics, predictions, crowd)


def evaluate(
    model: str | os.PathLike[str],
    data: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    votes: str | os.PathLike[str] | None = None,
    threads: int | None = None,
    *,
    prior: str | None = None,
    tta: str = "none",
) -> Evaluation:
    """Score a checkpoint or .onnx graph on a dataset; with `out_dir`, write metrics.json, metrics.txt,
    confusion.png (and, with votes, crowd_reliability.png) there."""
    predictor = Predictor(model, threads, prior, tta)
    table = read_votes(votes, predictor.spec.classes) if votes is not None else None
    result = evaluate_predictions(predictor.predict(data, cache_dir, table), table)
    if table is not None:
        result = with_ferplus(result, predictor, data, table, cache_dir)
    if out_dir is not None:
        out = Path(out_dir)
        report = {
            "model": str(model),
            "data": record(data),
            "data_sha256": result.predictions.dataset.sha256,
            "votes": {"path": record(votes), "sha256": table.sha256} if table and votes else None,
            **result.to_dict(),
        }
        write_text(out / "metrics.json", json.dumps(report, indent=2))
        write_text(out / "metrics.txt", result.text() + "\n")
        plot_confusion(
            result.metrics,
            out / "confusion.png",
            title=f"{Path(data).name}: balanced acc. {result.metrics.balanced_accuracy:.3f}",
        )
        if result.crowd is not None:
            plot_reliability(
                result.crowd.reliability,
                out / "crowd_reliability.png",
                f"{Path(data).name} vs votes",
                measure="share of raters who agree",
            )
    return result
