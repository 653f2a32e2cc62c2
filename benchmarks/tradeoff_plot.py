"""Accuracy against int8 milliseconds, drawn from one benchmark result: each bundled model and the `fer` peer on
the benchmark's test faces (balanced accuracy against the raters' majority), at batch 64 (ms per crop) and at
batch 1 (ms per call), each at its faster thread count, with the issue's goals shaded.

    python -m benchmarks.tradeoff_plot                       # the newest benchmarks/results/DATE.json
    python -m benchmarks.tradeoff_plot RESULT.json --out docs/tradeoff.png
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from benchmarks.peak import CpuHeader
from benchmarks.timing import best_speed, read_speeds
from fer_runtime.errors import FerError
from fer_train.plots import save_figure

REPO = Path(__file__).resolve().parents[1]
ACCURACY_GOAL = 0.88  # the default's balanced accuracy against the raters' majority (issue #24)
PANELS = (("batch 64", "batch64_ms", 2.0), ("batch 1", "batch1_ms", 1.5))  # Point field, goal: x the peer's speed


@dataclass(frozen=True)
class Point:
    name: str
    batch1_ms: float
    batch64_ms: float  # per crop
    accuracy: float  # balanced, against the raters' majority


def _point(name: str, speed: dict[str, dict[str, float]], accuracy: dict[str, Any]) -> Point:
    best = best_speed(read_speeds(speed))
    return Point(name, best.batch1_ms, 1000 / best.batch64_per_s, accuracy["crowd_balanced_accuracy"])


def tradeoff_points(result: dict[str, Any]) -> list[Point]:
    """The peer first, then our int8 graphs timed beside it, from a result with a measured peer."""
    peer = result.get("peer", {})
    if "speed" not in peer:
        raise FerError(f"the result has no peer measurement ({peer.get('skipped', 'no peer part')})")
    if "ours" not in peer:
        raise FerError("the result times no graph of ours beside the peer (an older result: run python -m benchmarks)")
    accuracy = peer["accuracy"]
    return [_point("fer (peer)", peer["speed"], accuracy["peer"])] + [
        _point(graph.removesuffix(".int8.onnx"), speed, accuracy[graph]) for graph, speed in peer["ours"].items()
    ]


def plot_tradeoff(result: dict[str, Any], path: Path) -> list[Point]:
    """Two panels, batch 64 and batch 1; the goal is the shaded corner (fast enough and accurate enough)."""
    points = tradeoff_points(result)
    peer = points[0]
    fig = Figure(figsize=(10, 4.2))
    for ax, (panel, field, factor) in zip(fig.subplots(1, 2), PANELS):
        ms = [getattr(point, field) for point in points]
        limit = getattr(peer, field) / factor
        for point, x in zip(points, ms):
            ax.scatter(x, point.accuracy, color="gray" if point is peer else "tab:blue", zorder=3)
            ax.annotate(point.name, (x, point.accuracy), textcoords="offset points", xytext=(6, 4))
        ax.add_patch(Rectangle((0, ACCURACY_GOAL), limit, 1 - ACCURACY_GOAL, color="tab:green", alpha=0.15))
        ax.axhline(ACCURACY_GOAL, color="tab:green", lw=0.8, ls="--")
        ax.axvline(limit, color="tab:green", lw=0.8, ls="--", label=f"goal: {factor:g}x the peer's speed")
        ax.set(
            xlim=(0, max(ms) * 1.25),
            ylim=(min(p.accuracy for p in points) - 0.03, max(ACCURACY_GOAL, *(p.accuracy for p in points)) + 0.02),
            xlabel=f"int8 ms per crop ({panel})",
            ylabel="balanced accuracy, raters' majority",
            title=f"{panel}, faster thread count",
        )
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    cpu = CpuHeader.from_json(result["cpu"])
    features = "AVX-512 with VNNI" if cpu.vnni else "AVX-512" if cpu.avx512 else "no AVX-512"
    where = f"{cpu.cpu}, {cpu.cores} cores, {features}"
    fig.suptitle(f"{result['test_data'].rsplit('/', 1)[-1]}: {where}; benchmark of {result['date'][:10]}")
    save_figure(fig, path)
    return points


def newest_result(folder: Path) -> Path:
    runs = sorted(p for p in folder.glob("????-??-??.json"))
    if not runs:
        raise FerError(f"no benchmark result in {folder}: run python -m benchmarks")
    return runs[-1]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tradeoff_plot", description=__doc__)
    parser.add_argument("result", type=Path, nargs="?", help="A benchmark result (default: the newest).")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "tradeoff.png")
    args = parser.parse_args()
    source = args.result or newest_result(REPO / "benchmarks" / "results")
    for point in plot_tradeoff(json.loads(source.read_text()), args.out):
        print(
            f"{point.name}: {point.batch1_ms:.3f} ms at batch 1, {point.batch64_ms:.3f} ms/crop at batch 64, "
            f"{point.accuracy:.4f} balanced against the raters"
        )
    print(f"wrote {args.out} from {source}")


if __name__ == "__main__":
    main()
