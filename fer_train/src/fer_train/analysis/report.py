"""`fer-train report`: how good a model is on one or more test splits, with uncertainty.

Per split: accuracy and balanced accuracy with bootstrap 95% intervals, per-class precision,
recall and F1, the confusion matrix, calibration (expected calibration error and a reliability
diagram) and the most confidently wrong faces. Given a training set, each split is also scored
without its near copies of that set's faces (perceptual hash), which a model may have memorised.
A PyTorch checkpoint and an exported ONNX graph (run through fer_runtime) go through the same
code, so their reports compare directly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from fer_runtime.atomic import write_text
from fer_runtime.errors import FerError
from fer_runtime.markdown import markdown_table
from fer_train.analysis.duplicates import NEAR_MAX_BITS, has_near_copy, non_blank_hashes
from fer_train.data import load_dataset, split_names
from fer_train.data_root import record
from fer_train.evaluate import evaluate_predictions
from fer_train.ferplus import FerPlusMetrics, score_ferplus
from fer_train.metrics import Metrics, compute_metrics, reliability
from fer_train.plots import plot_confusion, plot_reliability, save_figure
from fer_train.predict import Predictions, Predictor
from fer_train.votes import VoteTable, read_votes


def bootstrap_intervals(
    labels: np.ndarray, predicted: np.ndarray, classes: Sequence[str], samples: int = 1000, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """95% percentile intervals of accuracy and balanced accuracy over resamples of the test images."""
    rng = np.random.default_rng(seed)
    accuracy, balanced = np.empty(samples), np.empty(samples)
    for b in range(samples):
        idx = rng.integers(0, len(labels), len(labels))
        metrics = compute_metrics(labels[idx], predicted[idx], classes)
        accuracy[b], balanced[b] = metrics.accuracy, metrics.balanced_accuracy
    return {
        name: (float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5)))
        for name, v in (("accuracy", accuracy), ("balanced_accuracy", balanced))
    }


def per_class_scores(metrics: Metrics) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support of each class from the confusion matrix."""
    confusion = metrics.confusion.astype(np.float64)
    hits, predicted, actual = np.diag(confusion), confusion.sum(0), confusion.sum(1)
    scores = {}
    for k, name in enumerate(metrics.classes):
        precision = hits[k] / predicted[k] if predicted[k] else 0.0
        recall = hits[k] / actual[k] if actual[k] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[name] = {
            "precision": float(precision),
            "recall": float(recall),
            "f1": float(f1),
            "support": int(actual[k]),
        }
    return scores


def _wrong_figure(predictions: Predictions, path: Path, count: int = 24) -> None:
    data = predictions.dataset
    wrong = np.nonzero(predictions.predicted != data.labels)[0]
    worst = wrong[np.argsort(-predictions.confidence[wrong])][:count]
    columns = 8
    rows = max(1, -(-len(worst) // columns))
    fig = Figure(figsize=(columns * 1.3, rows * 1.8))
    axes = np.atleast_2d(fig.subplots(rows, columns))
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), worst):
        ax.imshow(data.pixels[i], cmap="gray", vmin=0, vmax=255)
        ax.set_title(
            f"{data.classes[data.labels[i]]}→{data.classes[predictions.predicted[i]]}\n{predictions.confidence[i]:.2f}",
            fontsize=7,
        )
    fig.suptitle("most confidently wrong (true→predicted, confidence)")
    save_figure(fig, path)


def report_split(
    predictions: Predictions,
    name: str,
    out: Path,
    face_images: bool = True,
    bootstrap_samples: int = 1000,
    votes: VoteTable | None = None,
    ferplus: FerPlusMetrics | None = None,
) -> dict[str, Any]:
    """Score one split and write its figures under `out/name/`; return its section of the report (with
    `ferplus`, the FER+ yardstick scored on the whole split, beside the crowd figures)."""
    data = predictions.dataset
    evaluation = evaluate_predictions(predictions, votes)
    metrics, crowd = evaluation.metrics, evaluation.crowd
    if crowd is not None and ferplus is not None:
        crowd = replace(crowd, ferplus=ferplus)
    cal = reliability(predictions.confidence, predictions.predicted == data.labels)
    folder = out / name
    plot_confusion(metrics, folder / "confusion.png", title=f"{name}: balanced acc. {metrics.balanced_accuracy:.3f}")
    plot_reliability(cal, folder / "reliability.png", name)
    figures = [f"{name}/confusion.png", f"{name}/reliability.png"]
    if crowd is not None:
        plot_confusion(
            crowd.majority,
            folder / "crowd_confusion.png",
            title=f"{name} vs raters' majority: balanced acc. {crowd.majority.balanced_accuracy:.3f}",
        )
        plot_reliability(
            crowd.reliability, folder / "crowd_reliability.png", f"{name} vs votes", measure="share of raters who agree"
        )
        figures += [f"{name}/crowd_confusion.png", f"{name}/crowd_reliability.png"]
    if face_images:
        _wrong_figure(predictions, folder / "confident_errors.png")
        figures.append(f"{name}/confident_errors.png")
    return {
        "name": name,
        "data": record(data.source),
        "data_sha256": data.sha256,
        **metrics.to_dict(),
        "intervals_95": bootstrap_intervals(data.labels, predictions.predicted, data.classes, bootstrap_samples),
        "per_class": per_class_scores(metrics),
        "ece": cal.ece,
        "figures": figures,
        "crowd": crowd.to_dict() if crowd is not None else None,
    }


def _summary_table(sections: list[dict[str, Any]]) -> list[str]:
    rows = []
    for s in sections:
        acc, bal = s["intervals_95"]["accuracy"], s["intervals_95"]["balanced_accuracy"]
        rows.append(
            (
                s["name"],
                s["n"],
                f"{s['accuracy']:.3f} ({acc[0]:.3f}–{acc[1]:.3f})",
                f"{s['balanced_accuracy']:.3f} ({bal[0]:.3f}–{bal[1]:.3f})",
                f"{s['ece']:.3f}",
            )
        )
    return markdown_table(("split", "images", "accuracy (95% CI)", "balanced accuracy (95% CI)", "ECE"), rows)


def _crowd_lines(crowd: list[dict[str, Any]]) -> list[str]:
    if not crowd:
        return []
    header = (
        "split", "majority faces", "accuracy", "balanced accuracy", *crowd[0]["classes"], "KL", "Brier", "ECE",
        "accuracy at 80% coverage",
    )  # fmt: skip
    rows = []
    for s in crowd:
        c, m = s["crowd"], s["crowd"]["majority"]
        recalls = (f"{r:.3f}" for r in m["per_class_recall"].values())
        rows.append(
            (s["name"], m["n"], f"{m['accuracy']:.3f}", f"{m['balanced_accuracy']:.3f}", *recalls)
            + (f"{c['kl']:.3f}", f"{c['brier']:.3f}", f"{c['ece']:.3f}", f"{c['covered_accuracy']:.3f}")
        )
    return [
        "",
        "Against the raters (majority: faces whose most-voted answer is one of the classes, ties left "
        "out; KL, Brier and ECE against the vote shares over the classes):",
        "",
        *markdown_table(header, rows),
        *_ferplus_lines([s for s in crowd if s["crowd"].get("ferplus")]),
    ]


def _markdown(model: str, sections: list[dict[str, Any]], face_images: bool) -> str:
    lines = [f"# Evaluation report: `{Path(model).name}`", "", *_summary_table(sections)]
    lines += _crowd_lines([s for s in sections if s["crowd"]])
    for s in sections:
        per_class = [
            (name, f"{c['precision']:.3f}", f"{c['recall']:.3f}", f"{c['f1']:.3f}", c["support"])
            for name, c in s["per_class"].items()
        ]
        lines += [
            "",
            f"## {s['name']}",
            "",
            *markdown_table(("class", "precision", "recall", "F1", "support"), per_class),
        ]
        lines += [""] + [f"![{Path(f).stem}]({f})" for f in s["figures"]]
    for s in sections:
        if "left_out" in s:
            lines += [
                "",
                f"`{s['name']}` leaves out the {s['left_out']['count']} faces of the split that have a near "
                f"copy (perceptual hash within {NEAR_MAX_BITS} bits) in `{s['left_out']['near_copies_of']}`.",
            ]
    lines += [
        "",
        "Intervals: 2.5th and 97.5th percentiles over 1,000 bootstrap resamples of the test images. "
        "ECE: expected calibration error over 15 confidence bins.",
    ]
    if not face_images:
        lines += ["", "The grid of most confidently wrong faces was not written (`--no-face-images`)."]
    return "\n".join(lines) + "\n"


def _ferplus_lines(sections: list[dict[str, Any]]) -> list[str]:
    if not sections:
        return []
    lines = [
        "",
        "FER+'s majority rule (the field's yardstick) on every face of the split: top-1 over the 8 emotions, "
        "and over the faces whose majority is one of the model's classes:",
        "",
    ]
    header = ("split", "faces (8 emotions)", "top-1", "faces in the classes", "top-1", "balanced accuracy")
    rows = []
    for s in sections:
        f = s["crowd"]["ferplus"]
        inside = f["in_classes"]
        rows.append(
            (
                s["name"],
                f["faces"],
                f"{f['accuracy']:.3f}",
                inside["n"],
                f"{inside['accuracy']:.3f}",
                f"{inside['balanced_accuracy']:.3f}",
            )
        )
    return lines + markdown_table(header, rows)


def run_report(
    model: str | os.PathLike[str],
    paths: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    face_images: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    threads: int | None = None,
    train: str | os.PathLike[str] | None = None,
    votes: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Report `model` (checkpoint or .onnx) on each test split; write report.md, report.json, PNGs.

    With `train`, each split is reported a second time as NAME-unseen: without the faces that have a
    near copy in `train`. With `votes`, each split is also scored against the raters.
    """
    if not paths:
        raise FerError("give at least one test split (--data)")
    predictor = Predictor(model, threads)
    table = read_votes(votes, predictor.spec.classes) if votes is not None else None
    out_dir = Path(out)
    train_hashes = None if train is None else non_blank_hashes(load_dataset(train, predictor.spec, cache_dir).pixels)[1]
    sections = []
    for name, path in zip(split_names(paths), paths):
        predictions = predictor.predict(path, cache_dir, table)
        ferplus = None
        if table is not None:
            ferplus = score_ferplus(predictor.probabilities, path, predictor.spec, table, cache_dir)
        sections.append(report_split(predictions, name, out_dir, face_images, votes=table, ferplus=ferplus))
        if train_hashes is not None:
            copied = has_near_copy(predictions.dataset.pixels, train_hashes)
            if copied.all():
                raise FerError(f"{path}: every face has a near copy in {train}")
            section = report_split(
                predictions.subset(np.nonzero(~copied)[0]), f"{name}-unseen", out_dir, face_images, votes=table
            )
            sections.append({**section, "left_out": {"near_copies_of": str(train), "count": int(copied.sum())}})
    report = {
        "model": str(model),
        "classes": list(predictor.spec.classes),
        "splits": sections,
        "votes": {"path": record(votes), "sha256": table.sha256} if table and votes else None,
    }
    write_text(out_dir / "report.json", json.dumps(report, indent=2))
    write_text(out_dir / "report.md", _markdown(str(model), sections, face_images))
    return report
