"""The peer part of the benchmark as markdown: the `fer` package's speed and accuracy beside ours."""

from __future__ import annotations

from typing import Any

from benchmarks.timing import ROUNDS, best_speed, read_speeds
from fer_runtime.markdown import markdown_table


def peer_goals(result: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """The speed goals against the peer for each bundled model, at the best thread count of either; none when
    the peer was skipped."""
    peer = result.get("peer", {})
    if "speed" not in peer:
        return []
    theirs = best_speed(read_speeds(peer["speed"]))
    goals = []
    for graph, speeds in peer["ours"].items():
        ours = best_speed(read_speeds(speeds))
        goals += [
            (
                f"`{graph}` >= 2x the `fer` peer's crops/s at batch 64",
                f"{ours.batch64_per_s / theirs.batch64_per_s:.2f}x",
                ours.batch64_per_s >= 2 * theirs.batch64_per_s,
            ),
            (
                f"`{graph}` >= 1.5x the `fer` peer's speed at batch 1",
                f"{theirs.batch1_ms / ours.batch1_ms:.2f}x",
                theirs.batch1_ms >= 1.5 * ours.batch1_ms,
            ),
        ]
    return goals


def _ferplus(accuracy: dict[str, float]) -> str:
    """The FER+ figure, absent from results written before it was measured."""
    return f"{accuracy['ferplus_accuracy']:.4f}" if "ferplus_accuracy" in accuracy else "n/a"


def peer_lines(result: dict[str, Any]) -> list[str]:
    peer = result.get("peer")
    if peer is None:
        return []
    if "skipped" in peer:
        return ["", f"The `fer` peer was not measured: {peer['skipped']}."]
    lines = [
        "",
        f"The peer, {peer['package']}, and our int8 graphs timed in turn, round after round (medians of "
        f"{ROUNDS} rounds; preprocessed faces, model only):",
        "",
    ]
    speed_rows = [
        (name, t[:-1], f"{s.batch1_ms:.3f}", f"{s.batch64_per_s:,.0f}")
        for name, speeds in (("`fer` peer", peer["speed"]), *((f"`{g}`", s) for g, s in peer["ours"].items()))
        for t, s in read_speeds(speeds).items()
    ]
    lines += markdown_table(("model", "threads", "batch 1 ms", "batch 64 crops/s"), speed_rows)
    lines += [
        "",
        f"On `{result['test_data'].rsplit('/', 1)[-1]}` (the peer's seven classes cut to ours and renormalised; "
        "FER+ votes for the raters; the field's yardstick, FER+'s majority rule, on every face of the split with "
        "every class each model has, a class it lacks counting as wrong):",
        "",
    ]
    header = (
        "model", "FER+ rule top-1 (8 emotions)", "original labels: bal. acc.", "raters' majority: bal. acc.", "KL", "ECE",
        "accuracy on the surest 80%",
    )  # fmt: skip
    rows = [
        (
            "`fer` peer" if name == "peer" else name,
            _ferplus(a),
            f"{a['balanced_accuracy']:.4f}",
            f"{a['crowd_balanced_accuracy']:.4f}",
            f"{a['kl']:.3f}",
            f"{a['ece']:.3f}",
            f"{a['covered_accuracy']:.3f}",
        )
        for name, a in peer["accuracy"].items()
    ]
    return lines + markdown_table(header, rows)
