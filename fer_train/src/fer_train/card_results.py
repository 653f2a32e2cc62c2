"""The card's test results: the graphs scored on each split, against the labels, the raters and FER+'s rule."""

from __future__ import annotations

from collections.abc import Sequence

import onnxruntime

from fer_runtime.markdown import markdown_table
from fer_train.cpu import describe_cpu
from fer_train.crowd_metrics import COVERAGE, CrowdMetrics
from fer_train.evaluate import Evaluation
from fer_train.metrics import Metrics


def _metrics_row(split: str, graph: str, m: Metrics) -> list[str]:
    recalls = (f"{r:.3f}" for r in m.per_class_recall.values())
    return [split, graph, str(m.total), f"{m.accuracy:.4f}", f"{m.balanced_accuracy:.4f}", *recalls]


def _confusion_table(m: Metrics) -> str:
    rows = [
        (f"**{c}**", *(int(v) for v in row), f"{m.per_class_recall[c]:.3f}") for c, row in zip(m.classes, m.confusion)
    ]
    return "\n".join(markdown_table(("true \\ predicted", *m.classes, "recall"), rows))


def _crowd_rows(results: dict[tuple[str, str], Evaluation]) -> list[str]:
    crowd = {key: r.crowd for key, r in results.items() if r.crowd is not None}
    if not crowd:
        return []
    classes = next(iter(results.values())).metrics.classes
    lines = [
        "",
        "Against the raters (their majority where it is one of the classes, ties left out; KL, Brier and "
        "ECE against the vote shares):",
        "",
    ]
    header = (
        "split", "graph", "faces", "accuracy", "balanced accuracy", *classes, "KL", "Brier", "ECE",
        f"accuracy at {COVERAGE:.0%} coverage",
    )  # fmt: skip
    rows = [
        [
            *_metrics_row(split, kind, m.majority),
            f"{m.kl:.3f}",
            f"{m.brier:.3f}",
            f"{m.reliability.ece:.3f}",
            f"{m.covered_accuracy:.3f}",
        ]
        for (split, kind), m in crowd.items()
    ]
    return lines + markdown_table(header, rows) + _ferplus_rows(crowd)


def _ferplus_rows(crowd: dict[tuple[str, str], CrowdMetrics]) -> list[str]:
    scored = {key: m.ferplus for key, m in crowd.items() if m.ferplus is not None}
    if not scored:
        return []
    lines = [
        "",
        "The field's yardstick, FER+'s majority rule (votes of 1 dropped; the top answer over half of the rest "
        "and one of the 8 emotions, else the face is left out), on every face of the split whatever its folder:",
        "",
    ]
    header = (
        "split",
        "graph",
        "faces (8 emotions)",
        "top-1",
        "faces in the model's classes",
        "top-1",
        "balanced accuracy",
    )
    rows = [
        (
            split,
            kind,
            f.faces,
            f"{f.accuracy:.4f}",
            f.in_classes.total,
            f"{f.in_classes.accuracy:.4f}",
            f"{f.in_classes.balanced_accuracy:.4f}",
        )
        for (split, kind), f in scored.items()
    ]
    return lines + markdown_table(header, rows)


def results_section(results: dict[tuple[str, str], Evaluation], classes: Sequence[str], default_kind: str) -> list[str]:
    supports = {split: r.metrics.confusion.sum(1) for (split, _), r in results.items()}
    lines = [
        "## Test results",
        "",
        f"Scored with onnxruntime {onnxruntime.__version__} on {describe_cpu()}: the int8 graph's results "
        "depend on the CPU's instruction sets. Balanced accuracy is the mean of per-class recall. Images per class: "
        + "; ".join(
            f"{split} " + ", ".join(f"{c} {int(n)}" for c, n in zip(classes, counts))
            for split, counts in supports.items()
        )
        + ".",
        "",
        *markdown_table(
            ("split", "graph", "images", "accuracy", "balanced accuracy", *classes),
            [_metrics_row(split, kind, r.metrics) for (split, kind), r in results.items()],
        ),
        *_crowd_rows(results),
    ]
    for split in supports:
        table = _confusion_table(results[(split, default_kind)].metrics)
        lines += ["", f"### Confusion matrix: {split}, {default_kind} graph", "", table]
    return lines
