"""Compare finished (or running) training runs: what changed between their recipes and what it bought.

Reads each run folder's config.json and metrics.json as `fer-train fit` writes them and produces an
ablation table (differences from the first run, best validation score and per-class recall at that
epoch, wall time), the validation curves on one plot and the per-class recalls side by side.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from fer_runtime.atomic import write_text
from fer_runtime.errors import FerError
from fer_train.config import SELECTED_BY, FitConfig
from fer_train.epoch_record import EpochRecord, Validation
from fer_train.plots import save_figure

# Settings that change where or how fast a run went, not what it learned.
_NOT_RECIPE = ("out", "threads", "cache_dir")


@dataclass(frozen=True)
class RunSummary:
    name: str
    config: dict[str, Any]
    history: list[EpochRecord]

    @property
    def selector(self) -> str:
        """The validation figure that picked best.pt: balanced accuracy on the labels or the crowd's."""
        return SELECTED_BY[self.config.get("select_on", "original")]

    @property
    def validated(self) -> list[tuple[int, Validation]]:
        """(epoch, its validation figures) for every epoch whose selector figure was measured."""
        return [
            (h.epoch, h.validation)
            for h in self.history
            if h.validation is not None and h.figure(self.selector) is not None
        ]

    @property
    def best(self) -> tuple[int, Validation]:
        """The epoch fit kept as best.pt: the first with the highest value of the run's selector."""
        scores = {h.epoch: h.figure(self.selector) or 0.0 for h in self.history}
        return max(self.validated, key=lambda validated: scores[validated[0]])

    @property
    def minutes(self) -> float:
        return sum(h.epoch_seconds or h.train_seconds for h in self.history) / 60

    @property
    def finished(self) -> bool:
        return len(self.history) >= int(self.config["epochs"])


def read_run(path: str | os.PathLike[str], name: str | None = None) -> RunSummary:
    folder = Path(path)
    try:
        config = json.loads((folder / "config.json").read_text())
        history = [EpochRecord.from_json(record) for record in json.loads((folder / "metrics.json").read_text())]
    except FileNotFoundError as exc:
        raise FerError(f"{folder}: not a training run (no {Path(exc.filename).name})") from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise FerError(f"{folder}: unreadable run files ({exc})") from None
    run = RunSummary(name or folder.name, config, history)
    if not run.validated:
        raise FerError(f"{folder}: no validated epoch yet (was the run given --val?)")
    return run


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as dotted keys: {"augment": {"flip": True}} -> {"augment.flip": True}."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


def recipe_differences(base: dict[str, Any], other: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Settings whose values differ between two run configs, as {key: (base value, other value)}.
    A setting a config lacks (written before the setting existed) counts at its default; paths count
    as the same when their last two parts are (one run may name a file relative, another absolute)."""
    defaults = flatten(FitConfig(data="", out="").to_dict())
    a, b = {**defaults, **flatten(base)}, {**defaults, **flatten(other)}
    keys = [k for k in dict.fromkeys([*a, *b]) if k not in _NOT_RECIPE]
    return {k: (a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k) and _short(a.get(k)) != _short(b.get(k))}


def _describe(differences: dict[str, tuple[Any, Any]]) -> str:
    if not differences:
        return "same recipe"
    return "; ".join(f"{k} {_short(old)} → {_short(new)}" for k, (old, new) in differences.items())


def _short(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, str) and ("/" in value or "\\" in value):
        return "/".join(Path(value).parts[-2:])  # the file and its folder: enough to tell runs apart
    if isinstance(value, list):
        return ",".join(_short(v) for v in value) or "none"
    return str(value)


def _threads(run: RunSummary) -> str:
    """The torch threads the epochs ran on ("1 thread: 6 epochs, 2 threads: 54 epochs" for a run resumed
    with another --threads). Epochs written before fit recorded threads count as "not recorded"; a run
    with none recorded shows its config's setting."""

    def text(n: int, unit: str = "thread") -> str:
        return f"{n} {unit}" + ("s" if n > 1 else "")

    used = Counter(h.threads for h in run.history)
    if len(used) > 1:
        return ", ".join(
            f"{text(n) if n else 'not recorded'}: {text(epochs, 'epoch')}"
            for n, epochs in sorted(used.items(), key=lambda item: item[0] or 0)
        )
    threads = next(iter(used), None) or run.config.get("threads")
    return text(threads) if threads else "all cores"


def _crowd_cells(best: Validation, classes: list[str]) -> str:
    if best.val_crowd_balanced_accuracy is None or best.val_crowd_recall is None:
        return " – | – | – | – | – |"
    recall = "/".join(f"{best.val_crowd_recall.get(c, float('nan')):.2f}" for c in classes)
    ferplus = f"{best.val_ferplus_accuracy:.4f}" if best.val_ferplus_accuracy is not None else "–"
    return (
        f" {ferplus} | {best.val_crowd_balanced_accuracy:.4f} | {recall} | {best.val_crowd_kl:.3f} | "
        f"{best.val_crowd_ece:.3f} |"
    )


def _markdown(runs: list[RunSummary]) -> str:
    classes = list(runs[0].best[1].val_recall or {})
    crowd = any(run.best[1].val_crowd_balanced_accuracy is not None for run in runs)
    head = "| run | differences | val. bal. acc. (epoch) | " + " | ".join(f"{c} recall" for c in classes)
    if crowd:
        head += f" | FER+ top-1 | crowd bal. acc. | crowd recall ({'/'.join(classes)}) | KL | ECE"
    lines = [
        "# Training runs compared (`fer-train compare`)",
        "",
        "Best epoch = the epoch kept as best.pt: highest validation balanced accuracy on the labels, or on "
        "the raters' majority for runs that select on the crowd. "
        f"Differences are against the first run, `{runs[0].name}`. Time: wall time of the epochs "
        "run so far, with the torch threads its epochs ran on (runs that shared the CPU were slower)."
        + (
            " Crowd columns: top-1 under FER+'s majority rule on every validation face (8 emotions; runs before "
            "it was measured: –), against the raters' majority (balanced accuracy, recall) and their vote "
            "shares (KL, ECE) at that epoch."
            if crowd
            else ""
        ),
        "",
        head + " | time |",
        "|" + "---|" * (len(classes) + 4 + 5 * crowd),
    ]
    for run in runs:
        epoch, best = run.best
        recalls = [f"{(best.val_recall or {}).get(c, float('nan')):.3f}" for c in classes]
        status = "" if run.finished else f", running: {len(run.history)}/{run.config['epochs']} epochs"
        described = "baseline" if run is runs[0] else _describe(recipe_differences(runs[0].config, run.config))
        lines.append(
            f"| {run.name} | {described} | "
            f"{best.val_balanced_accuracy:.4f} ({epoch}) | "
            + " | ".join(recalls)
            + " |"
            + (_crowd_cells(best, classes) if crowd else "")
            + f" {run.minutes:.0f} min ({_threads(run)}{status}) |"
        )
    lines += ["", "![validation curves](val_curves.png)", "", "![per-class recall](recall.png)"]
    return "\n".join(lines) + "\n"


def _curves_figure(runs: list[RunSummary], path: Path) -> None:
    fig = Figure(figsize=(9, 4.5))
    ax = fig.subplots()
    for run in runs:
        epochs = [epoch for epoch, _ in run.validated]
        line = ax.plot(epochs, [v.val_balanced_accuracy for _, v in run.validated], label=run.name)[0]
        if run.validated[-1][1].val_crowd_balanced_accuracy is not None:
            ax.plot(
                epochs,
                [
                    np.nan if v.val_crowd_balanced_accuracy is None else v.val_crowd_balanced_accuracy
                    for _, v in run.validated
                ],
                "--",
                color=line.get_color(),
                label=f"{run.name} (crowd)",
            )
    ax.set(
        xlabel="epoch",
        ylabel="val. balanced accuracy",
        title="validation balanced accuracy per epoch (dashed: against the raters' majority)",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    save_figure(fig, path)


def _recall_figure(runs: list[RunSummary], path: Path) -> None:
    classes = list(runs[0].best[1].val_recall or {})
    fig = Figure(figsize=(max(6.0, 1.6 * len(classes) + 0.4 * len(runs)), 4))
    ax = fig.subplots()
    width = 0.8 / len(runs)
    for i, run in enumerate(runs):
        recall = run.best[1].val_recall or {}
        ax.bar(
            np.arange(len(classes)) + (i - (len(runs) - 1) / 2) * width,
            [recall.get(c, np.nan) for c in classes],
            width,
            label=run.name,
        )
    ax.set_xticks(range(len(classes)), classes)
    ax.set(ylabel="val. recall at the best epoch", ylim=(0, 1), title="per-class recall")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    save_figure(fig, path)


def run_compare(
    paths: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str], names: Sequence[str] = ()
) -> list[RunSummary]:
    """Write compare.md, val_curves.png and recall.png to `out`; return the runs read."""
    if not paths:
        raise FerError("give at least one run folder")
    if names and len(names) != len(paths):
        raise FerError(f"{len(names)} names for {len(paths)} runs")
    labels: Sequence[str | None] = names or [None] * len(paths)
    runs = [read_run(p, n) for p, n in zip(paths, labels)]
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    _curves_figure(runs, folder / "val_curves.png")
    _recall_figure(runs, folder / "recall.png")
    write_text(folder / "compare.md", _markdown(runs))
    return runs
