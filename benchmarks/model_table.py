"""`python -m benchmarks.model_table`: the README's table of the shipped models, every yardstick, generated.

Each bundled model's int8 graph is scored with `fer-train eval`'s library call on FER2013 val under every
class prior (the default is the one the model records: the measurement behind that choice) and under its
default with `--tta flip`, and on Test_250 (the final evaluation, 4-class models only: it has no other
folders) under its default, plain and flipped. A model with a class no folder has (contempt) takes every
face's class from the votes, so it has no original-label figure. The table goes between the README's
`<!-- models:start -->` and `<!-- models:end -->`; the figures to benchmarks/results/DATE-models.json.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.records import JsonRecord
from benchmarks.report import fill_block
from fer_runtime.atomic import write_text
from fer_runtime.defaults import PRIORS, TTA
from fer_runtime.markdown import markdown_table
from fer_runtime.model_files import bundled_model_dir, read_description
from fer_train.data import missing_folders
from fer_train.data_root import data_root
from fer_train.evaluate import evaluate

REPO = Path(__file__).resolve().parents[1]
START, END = "<!-- models:start -->", "<!-- models:end -->"


@dataclass(frozen=True)
class ModelRow(JsonRecord):
    """One bundled model's int8 graph scored on one split under one prior and test-time choice."""

    model: str
    data: str  # the split: "val" or "Test_250"
    prior: str
    tta: str
    default: bool  # the prior is the model's default
    ferplus_8: float  # FER+ top-1 over the 8 emotions
    ferplus_classes: float  # FER+ top-1 on the faces whose majority is one of the model's classes
    ferplus_balanced: float  # the same, balanced over its classes
    crowd_balanced: float  # against the raters' majority
    crowd_recall: dict[str, float]
    kl: float
    ece: float
    surest: float  # accuracy on the surest 80% of the majority faces
    original_balanced: float | None  # against the folder labels (None: a class no folder has)


def _row(
    *, model: Path, name: str, split: str, data: Path, votes: Path, prior: str, tta: str, default: str
) -> ModelRow:
    result = evaluate(model, data, votes=votes, prior=prior, tta=tta)
    assert result.crowd is not None and result.crowd.ferplus is not None
    ferplus, crowd = result.crowd.ferplus, result.crowd
    return ModelRow(
        model=name,
        data=split,
        prior=prior,
        tta=tta,
        default=prior == default,
        ferplus_8=ferplus.accuracy,
        ferplus_classes=ferplus.in_classes.accuracy,
        ferplus_balanced=ferplus.in_classes.balanced_accuracy,
        crowd_balanced=crowd.majority.balanced_accuracy,
        crowd_recall=crowd.majority.per_class_recall,
        kl=crowd.kl,
        ece=crowd.reliability.ece,
        surest=crowd.covered_accuracy,
        original_balanced=None if missing_folders(data, result.metrics.classes) else result.metrics.balanced_accuracy,
    )


def measure(data: Path) -> list[ModelRow]:
    votes = data / "ferplus" / "votes.csv"
    rows = []
    for json_path in sorted(bundled_model_dir().glob("*.json")):
        description = read_description(json_path)
        graph = json_path.with_name(description.graph_file("int8"))
        default = description.default_prior()
        val = data / "fer2013" / "val.zip"
        runs = [("val", val, prior, "none") for prior in (PRIORS if description.prior else [default])]
        runs.append(("val", val, default, "flip"))
        if len(description.classes) == 4:
            runs += [("Test_250", data / "seed" / "Test_250.zip", default, tta) for tta in TTA]
        for split, path, prior, tta in runs:
            rows.append(
                _row(
                    model=graph,
                    name=description.name,
                    split=split,
                    data=path,
                    votes=votes,
                    prior=prior,
                    tta=tta,
                    default=default,
                )
            )
    return rows


def table(rows: list[ModelRow]) -> str:
    header = (
        "model", "data", "prior (, test-time flip)", "FER+ top-1, 8 emotions", "FER+ top-1, its classes (balanced)",
        "raters' majority: balanced acc. (per class)", "KL(votes ‖ model)", "ECE vs rater shares",
        "accuracy on the surest 80%", "original labels: balanced acc.",
    )  # fmt: skip
    cells = []
    for r in rows:
        recall = "/".join(f"{v:.2f}" for v in r.crowd_recall.values())
        prior = (f"**{r.prior}** (default)" if r.default else r.prior) + (f", {r.tta}" if r.tta != "none" else "")
        original = "n/a" if r.original_balanced is None else f"{r.original_balanced:.3f}"
        cells.append(
            (
                f"`{r.model}`",
                r.data,
                prior,
                f"{r.ferplus_8:.3f}",
                f"{r.ferplus_classes:.3f} ({r.ferplus_balanced:.3f})",
                f"{r.crowd_balanced:.3f} ({recall})",
                f"{r.kl:.3f}",
                f"{r.ece:.3f}",
                f"{r.surest:.3f}",
                original,
            )
        )
    return "\n".join(markdown_table(header, cells))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.model_table", description=__doc__)
    parser.add_argument("--data", type=Path, default=data_root(), help="The shared data folder ($FER_SHARED_DATA).")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    rows = measure(args.data)
    date = datetime.now(timezone.utc).isoformat(timespec="seconds")
    write_text(
        args.out / f"{date[:10]}-models.json",
        json.dumps({"date": date, "rows": [r.to_json() for r in rows]}, indent=2) + "\n",
    )
    fill_block(REPO / "README.md", START, END, table(rows))
    print(table(rows))


if __name__ == "__main__":
    main()
