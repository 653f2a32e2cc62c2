"""The robustness benchmark's tables, goals, plot and docs/robustness.md (`benchmarks.measure_robustness`), from
its JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.angry_faces import AngryFaces, angry_markdown
from benchmarks.drop_interval import RESAMPLES
from benchmarks.framing import Framing, framing_markdown, plot_framing
from benchmarks.measure_robustness import MAX_CHANGED, MAX_MEAN_DROP, MAX_WORST_DROP
from benchmarks.part import run_heading
from benchmarks.robustness_runs import PhotoRobustness, SplitRobustness, model_robustness, part_columns
from fer_runtime.atomic import write_text
from fer_runtime.markdown import markdown_table

PLOT, FRAMING_PLOT = "robustness.png", "framing.png"


def _points(drop: float) -> str:
    """Points lost (negative: gained)."""
    return f"{drop * 100:.1f}"


def _intervals(r: SplitRobustness) -> tuple[str, str]:
    """The mean and the worst drop's 95% intervals in points, to follow each figure; empty where the result has none."""
    if r.intervals is None:
        return "", ""
    mean, worst = (f" ({low * 100:.1f} to {high * 100:.1f})" for low, high in (r.intervals.mean, r.intervals.worst))
    return mean, worst


def _split_table(models: dict[str, dict[str, SplitRobustness]], split: str, severities: dict[str, Any]) -> list[str]:
    scores = {name: splits[split] for name, splits in models.items()}
    rows = [["clean: balanced vs raters", *(f"{r.clean:.3f}" for r in scores.values())]]
    for shift, about in severities.items():
        cells = []
        for r in scores.values():
            by = r.shifts[shift]
            drops = " / ".join(_points(score.drop) for score in by.values())
            cells.append(f"{drops} ({by['moderate'].changed:.0%} changed)")
        levels = f"{about['moderate']:g}" + (f" / {about['strong']:g}" if about["strong"] != about["moderate"] else "")
        rows.append([f"{shift} ({about['what']}: {levels})", *cells])
    means = (f"{_points(r.mean_drop)}{_intervals(r)[0]}, {r.mean_changed:.0%}" for r in scores.values())
    rows.append(["mean at moderate: points lost, answers changed", *means])
    return markdown_table([f"{split}: shift (moderate / strong)", *(f"`{n}`" for n in scores)], rows)


def _photo_table(whole: PhotoRobustness) -> list[str]:
    lines = [
        f"Whole photos through `fer_default`'s pipeline (YuNet, aligned crop, int8 graph): {whole.photos} photos "
        f"and video frames, {whole.faces} faces; each shift scaled to the photo's largest face.",
        "",
    ]
    rows = []
    for shift, by in whole.shifts.items():
        cells = [f"{score.found:.0%}, {score.changed:.0%}" for score in by.values()]
        rows.append([shift, *cells, *["-"] * (2 - len(cells))])
    header = ("shift", "moderate: faces found, answers changed", "strong: faces found, answers changed")
    return lines + markdown_table(header, rows)


def robustness_goals(part: dict[str, Any]) -> list[str]:
    """The issue's goals at the moderate severity, a row per shipped model (not the peer) and split."""
    header = (
        "goals at moderate severity",
        f"mean drop <= {MAX_MEAN_DROP * 100:.0f} points",
        f"worst shift <= {MAX_WORST_DROP * 100:.0f} points",
        f"top-1 changed <= {MAX_CHANGED:.0%}",
    )
    rows = []
    mark = {True: "", False: " **(no)**"}
    columns = part_columns(part)
    for name, splits in model_robustness(part).items():
        if columns[name].kind != "shipped":
            continue
        for split, r in splits.items():
            mean_interval, worst_interval = _intervals(r)
            rows.append(
                (
                    f"`{name}` {split}",
                    f"{_points(r.mean_drop)}{mean_interval}{mark[r.mean_drop <= MAX_MEAN_DROP]}",
                    f"{r.worst_shift} {_points(r.worst_drop)}{worst_interval}{mark[r.worst_drop <= MAX_WORST_DROP]}",
                    f"{r.mean_changed:.1%}{mark[r.mean_changed <= MAX_CHANGED]}",
                )
            )
    return markdown_table(header, rows)


def robustness_markdown(result: dict[str, Any]) -> str:
    part = result["robustness"]
    models = model_robustness(part)
    first = next(iter(models.values()))
    faces = ", ".join(f"{split} {r.faces} faces" for split, r in first.items())
    lines = [
        run_heading(result, "Robustness run", " (quick)" if part["quick"] else "")
        + f"; {faces}; each model's int8 graph under its default prior unless its column names one. Cells: points "
        "of balanced accuracy against the raters' majority lost at the moderate / strong severity, and the share of "
        "faces whose top-1 answer changed at the moderate one.",
    ]
    if any(r.intervals for splits in models.values() for r in splits.values()):
        lines[-1] += (
            f" In brackets after a mean or worst drop: its 95% interval from {RESAMPLES:,} paired bootstrap resamples "
            "of the split's faces (`benchmarks/drop_interval.py`): a balanced figure over a rare class moves with a "
            "few of its faces."
        )
    columns = part_columns(part).values()
    if any(c.tta == "flip" for c in columns):
        lines[-1] += (
            " Columns marked (flip) are a shipped model with the test-time flip (`--tta flip`): each face's "
            "probabilities averaged with its mirror image's, the model run twice."
        )
    if any(c.prior for c in columns):
        lines[-1] += (
            " Columns marked (CHOICE prior) are a shipped model under that class prior rather than its default "
            "(`--prior CHOICE`)."
        )
    if any(c.kind == "teacher" for c in columns):
        lines[-1] += (
            " Columns marked (teacher) are candidate teachers measured in PyTorch, never shipped: face-api's "
            "expression net as its npm package ships it, and checkpoints named by their run folder "
            "(`fer-train fit --config configs/FOLDER.toml --out runs/FOLDER`)."
        )
    for split in first:
        lines += ["", *_split_table(models, split, part["severities"])]
    lines += ["", *_photo_table(PhotoRobustness.from_json(part["photos"]))]
    lines += ["", "### Angry faces called neutral", "", *angry_markdown(AngryFaces.from_json(part["angry"]))]
    lines += [
        "",
        "### The runtime's crops beside the training crops",
        "",
        *framing_markdown(Framing.from_json(part["framing"])),
    ]
    lines += ["", *robustness_goals(part)]
    return "\n".join(lines)


def plot_robustness(part: dict[str, Any], path: Path) -> None:
    """Points lost at the moderate severity per shift, one bar per model, on the validation faces."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    shifts = list(part["severities"])
    models = model_robustness(part)
    width = 0.8 / len(models)
    figure, axes = plt.subplots(figsize=(11, 4.2), dpi=110)
    for k, (name, splits) in enumerate(models.items()):
        drops = [splits["val"].shifts[s]["moderate"].drop * 100 for s in shifts]
        axes.bar(np.arange(len(shifts)) + (k - (len(models) - 1) / 2) * width, drops, width, label=name)
    axes.axhline(MAX_WORST_DROP * 100, color="gray", linestyle="--", linewidth=1, label="worst-shift goal")
    axes.set_xticks(np.arange(len(shifts)), [s.replace("_", " ") for s in shifts], rotation=20)
    axes.set_ylabel("points of balanced accuracy lost")
    axes.set_title("Moderate shifts on the validation faces (against the raters' majority)")
    axes.legend(fontsize=8, ncols=3)
    figure.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    figure.savefig(tmp)
    plt.close(figure)
    tmp.replace(path)


def write_robustness_docs(result: dict[str, Any], docs: Path) -> None:
    """docs/robustness.md (its tables from this run's result) and docs/robustness.png."""
    plot_robustness(result["robustness"], docs / PLOT)
    plot_framing(Framing.from_json(result["robustness"]["framing"]), docs / FRAMING_PLOT)
    body = robustness_markdown(result)
    columns = part_columns(result["robustness"]).values()
    variants = "".join(f" --flip {c.model}" for c in columns if c.tta == "flip")
    variants += "".join(f" --prior {c.model}={c.prior}" for c in columns if c.prior)
    text = "\n".join(
        [
            "# Robustness: faces as cameras bring them",
            "",
            f"Generated by `python -m benchmarks robustness --update-docs{variants}`; the shifts are `fer_train/shifts.py`.",
            "",
            f"![Points lost per shift, moderate severity, validation faces]({PLOT})",
            "",
            body,
            "",
            f"![Landmarks, brightness and contrast of the training crops and the runtime's]({FRAMING_PLOT})",
            "",
        ]
    )
    write_text(docs / "robustness.md", text)
