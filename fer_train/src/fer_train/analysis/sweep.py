"""`fer-train sweep`: train one configuration per grid point with a fixed epoch budget, compare them.

A grid key is a `FitConfig` field (optimizer, lr, schedule, batch_size, weight_decay, model, ...),
`augment.<field>`, or else an option of the model (seed_cnn: kernel_size, pooling, activation_fn,
conv_dropout, head_dropout). Runs live in `OUT/runs/<id>/`; `results.csv` gains a row as each run
ends, and a rerun skips the rows it already has (and resumes an interrupted run from its last.pt).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
import time
from collections.abc import Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from tqdm import tqdm

from fer_runtime.atomic import write_text
from fer_runtime.errors import FerError
from fer_train.augment import AugmentConfig
from fer_train.config import FitConfig
from fer_train.models import build_model
from fer_train.plots import save_figure
from fer_train.train import fit
from fer_train.validation import SCORE_NAMES, selection_metric

CONFIG_FIELDS = {f.name for f in fields(FitConfig)} - {"data", "val", "out", "model_options", "augment", "classes"}
RESULT_COLUMNS = ("run", "seed", "selected_by", "best_score", "best_epoch", "final_score", "seconds")


def parse_value(text: str) -> Any:
    """'0.001' → 0.001, '64' → 64, 'true' → True, 'relu' → 'relu'."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """['lr=0.001,0.01', 'pooling=max,avg'] → {'lr': [0.001, 0.01], 'pooling': ['max', 'avg']}."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        parts = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not key or not parts:
            raise FerError(f"bad --grid {item!r}: use KEY=V1,V2, e.g. lr=0.001,0.01")
        if key in grid:
            raise FerError(f"--grid {key} given twice")
        grid[key] = [parse_value(v) for v in parts]
    if not grid:
        raise FerError("give at least one --grid KEY=V1,V2")
    return grid


def expand(grid: dict[str, list[Any]], one_at_a_time: bool = False) -> list[dict[str, Any]]:
    """Grid points. Cross product, or the baseline (first value of every key) followed by each other
    value of one key at a time with the rest at baseline."""
    if not one_at_a_time:
        return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    baseline = {key: values[0] for key, values in grid.items()}
    points = [baseline]
    for key, values in grid.items():
        points += [{**baseline, key: value} for value in values[1:]]
    return points


def apply(base: FitConfig, point: dict[str, Any]) -> FitConfig:
    """`base` with the grid point's values put where they belong."""
    top: dict[str, Any] = {}
    augment = base.augment.to_dict()
    options = dict(base.model_options)
    for key, value in point.items():
        if key in CONFIG_FIELDS:
            top[key] = value
        elif key.startswith("augment."):
            name = key.removeprefix("augment.")
            if name not in augment:
                raise FerError(f"unknown grid key {key!r}: augment has {', '.join(augment)}")
            augment[name] = value
        else:
            options[key] = value
    return replace(base, **top, augment=AugmentConfig(**augment), model_options=options)


def run_id(point: dict[str, Any], seed: int) -> str:
    text = ",".join(f"{k}={v}" for k, v in point.items()) + f",seed={seed}"
    return re.sub(r"[^A-Za-z0-9_.=,+-]", "_", text)


def _read_results(path: Path, keys: list[str]) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    if reader.fieldnames != [*RESULT_COLUMNS[:1], *keys, *RESULT_COLUMNS[1:]]:
        raise FerError(f"{path} holds a sweep over other factors; choose another --out")
    return rows


def _write_results(path: Path, rows: list[dict[str, Any]], keys: list[str]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*RESULT_COLUMNS[:1], *keys, *RESULT_COLUMNS[1:]])
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buffer.getvalue())


def _check(configs: list[FitConfig]) -> None:
    """Fail before any training if a grid point names an unknown option or an invalid value."""
    for config in configs:
        build_model(config.model, len(config.classes), **config.model_options)


def summarise(rows: list[dict[str, Any]], keys: list[str]) -> list[dict[str, Any]]:
    """One line per configuration (seeds pooled): mean and std of the best validation score and time."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(str(row[k]) for k in keys), []).append(row)
    summary = []
    for values, members in groups.items():
        scores = np.array([float(m["best_score"]) for m in members])
        seconds = np.array([float(m["seconds"]) for m in members])
        summary.append(
            {
                **dict(zip(keys, values)),
                "runs": len(members),
                "mean": float(scores.mean()),
                "std": float(scores.std(ddof=1)) if len(scores) > 1 else 0.0,
                "seconds": float(seconds.mean()),
            }
        )
    return summary


def _markdown(summary: list[dict[str, Any]], keys: list[str], base: FitConfig, one_at_a_time: bool) -> str:
    lines = [
        "# Hyperparameter sweep (`fer-train sweep`)",
        "",
        f"Training data `{base.data}`, validation `{base.val}`, base model `{base.model}`, "
        f"{base.epochs} epochs per run; score: best {SCORE_NAMES[selection_metric(base)]} over the epochs "
        f"(mean ± std over seeds). "
        + (
            "One factor at a time: the first row is the baseline (the first value of every factor)."
            if one_at_a_time
            else "Full cross product."
        ),
        "",
        "| " + " | ".join(keys) + f" | runs | {SCORE_NAMES[selection_metric(base)]} | seconds/run |",
        "|" + "---|" * (len(keys) + 3),
    ]
    for line in summary:
        lines.append(
            "| "
            + " | ".join(str(line[k]) for k in keys)
            + f" | {line['runs']} | {line['mean']:.3f}"
            + (f" ± {line['std']:.3f}" if line["runs"] > 1 else "")
            + f" | {line['seconds']:.0f} |"
        )
    best = max(summary, key=lambda s: s["mean"])
    lines += ["", "Best: " + ", ".join(f"{k}={best[k]}" for k in keys) + f" ({best['mean']:.3f})"]
    if all(line["runs"] == 1 for line in summary):
        lines += [
            "",
            "One seed per configuration: differences of a few points may be seed noise "
            "(`--seeds K` repeats each configuration and adds a standard deviation).",
        ]
    lines += ["", "## Per factor", ""] + [f"![{k}](factor_{k}.png)" for k in keys]
    return "\n".join(lines) + "\n"


def _factor_figure(
    summary: list[dict[str, Any]],
    key: str,
    keys: list[str],
    grid: dict[str, list[Any]],
    one_at_a_time: bool,
    path: Path,
    score_label: str,
) -> None:
    """Score against the values of one factor; in one-at-a-time mode only the runs that vary it."""
    baseline = {k: str(grid[k][0]) for k in keys}
    values = [str(v) for v in grid[key]]
    means, stds = [], []
    for value in values:
        chosen = [
            s
            for s in summary
            if s[key] == value and (not one_at_a_time or all(s[k] == baseline[k] for k in keys if k != key))
        ]
        scores = [s["mean"] for s in chosen]
        means.append(float(np.mean(scores)) if scores else np.nan)
        stds.append(chosen[0]["std"] if len(chosen) == 1 else float(np.std(scores)) if scores else 0.0)
    fig = Figure(figsize=(1.2 * len(values) + 2.5, 3.5))
    ax = fig.subplots()
    ax.errorbar(range(len(values)), means, yerr=stds, fmt="o", capsize=4)
    ax.set_xticks(range(len(values)), values)
    ax.set(
        xlabel=key,
        ylabel=score_label,
        title=f"{key}" + (" (others at baseline)" if one_at_a_time else " (mean over the other factors)"),
    )
    ax.grid(alpha=0.3)
    save_figure(fig, path)


def run_sweep(
    base: FitConfig,
    grid: dict[str, list[Any]],
    out: str | os.PathLike[str],
    seeds: int = 1,
    one_at_a_time: bool = False,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Train every grid point × seed (skipping finished ones); write results.csv, summary.md and plots."""
    out_dir = Path(out)
    keys = list(grid)
    points = expand(grid, one_at_a_time)
    plan = [(point, seed, apply(base, {**point, "seed": seed})) for point in points for seed in range(seeds)]
    _check([config for _, _, config in plan])
    results_path = out_dir / "results.csv"
    rows = _read_results(results_path, keys)
    done = {row["run"] for row in rows}
    bar = tqdm(plan, desc="sweep", unit="run", disable=None if progress else True)
    for point, seed, config in bar:
        name = run_id(point, seed)
        if name in done:
            continue
        bar.set_postfix_str(name[:60])
        started = time.perf_counter()
        result = fit(replace(config, out=str(out_dir / "runs" / name)), resume=True, progress=False)
        rows.append(
            {
                "run": name,
                **{k: point[k] for k in keys},
                "seed": seed,
                "selected_by": result.metric,
                "best_score": round(result.best_score, 5),
                "best_epoch": result.best_epoch,
                "final_score": round(result.final_score, 5),
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
        _write_results(results_path, rows, keys)
    bar.close()
    summary = summarise(rows, keys)
    for key in keys:
        _factor_figure(
            summary, key, keys, grid, one_at_a_time, out_dir / f"factor_{key}.png", SCORE_NAMES[selection_metric(base)]
        )
    write_text(out_dir / "summary.md", _markdown(summary, keys, base, one_at_a_time))
    return rows
