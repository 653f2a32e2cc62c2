"""The deployment targets' table and goals (`benchmarks.measure_targets`), from its JSON."""

from __future__ import annotations

from typing import Any

from benchmarks.measure_targets import (
    MAX_BALANCED_GAP,
    MAX_FLOAT_DP,
    MIN_AGREEMENT,
    MIN_FLOAT_AGREEMENT,
    MIN_NODE_RATIO,
    MIN_ORT_RATIO,
    TargetRow,
)
from benchmarks.part import run_heading
from benchmarks.peak import CpuHeader
from fer_runtime.markdown import goal_table, markdown_table


def _row(rows: list[TargetRow], name: str) -> TargetRow | None:
    return next((r for r in rows if r.target == name), None)


def target_rows(part: dict[str, Any]) -> list[TargetRow]:
    """The part's rows, PyTorch (the reference) first."""
    return [TargetRow.from_json(r) for r in part["rows"]]


def targets_goals(part: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(goal, measured, met) for the issue's goals on this run's rows."""
    rows = target_rows(part)
    reference, others = rows[0], rows[1:]
    floats = [r for r in others if r.float32]
    least, least_float = (min(group, key=lambda r: r.top1_agreement) for group in (others, floats))

    def gap_of(row: TargetRow) -> float:
        return abs(row.balanced_vs_raters - reference.balanced_vs_raters)

    gap = max(others, key=gap_of)
    widest = max(floats, key=lambda r: r.max_abs_dp)
    goals = [
        (
            f"top-1 agreement with PyTorch >= {MIN_AGREEMENT:.0%}; lowest",
            f"{least.target}: {least.top1_agreement:.1%}",
            least.top1_agreement >= MIN_AGREEMENT,
        ),
        (
            f"float32 targets >= {MIN_FLOAT_AGREEMENT:.1%}; lowest",
            f"{least_float.target}: {least_float.top1_agreement:.1%}",
            least_float.top1_agreement >= MIN_FLOAT_AGREEMENT,
        ),
        (
            f"balanced accuracy within {MAX_BALANCED_GAP * 100:.1f} point of PyTorch's; widest gap",
            f"{gap.target}: {gap_of(gap) * 100:.2f} points",
            all(gap_of(r) <= MAX_BALANCED_GAP for r in others),
        ),
        (f"max abs dp <= {MAX_FLOAT_DP:g} on float32 targets", f"{widest.target}: {widest.max_abs_dp:.1e}",
         widest.max_abs_dp <= MAX_FLOAT_DP),
    ]  # fmt: skip
    mobile, int8 = _row(rows, "ORT CPU, int8, .ort"), _row(rows, "ORT CPU, int8")
    if mobile and int8:
        ratio = int8.batch1_ms / mobile.batch1_ms
        goals.append(
            (
                f".ort int8 as fast as .onnx int8 at batch 1 (the same kernels; >= {MIN_ORT_RATIO}x, the run-to-run spread)",
                f"{ratio:.2f}x",
                ratio >= MIN_ORT_RATIO,
            )
        )
    node = _row(rows, "Node, int8")
    if node and int8:
        ratio = node.batch64_per_s / int8.batch64_per_s
        goals.append(
            (f"Node >= {MIN_NODE_RATIO}x Python's crops/s (int8, batch 64)", f"{ratio:.2f}x", ratio >= MIN_NODE_RATIO)
        )
    return goals


def targets_markdown(result: dict[str, Any]) -> str:
    part, cpu = result["targets"], CpuHeader.from_json(result["cpu"])
    lines = [
        run_heading(result, "Targets run") + f" (AVX-512 {'yes' if cpu.avx512 else 'no'}, "
        f"VNNI {'yes' if cpu.vnni else 'no'}); `{part['model']}` on the {part['faces']} faces of {part['data']}, "
        f"{part['threads']} thread each; first call = load the graph and classify one crop. PyTorch is the "
        "architecture with the float graph's weights (BatchNorm folded). Not here: "
        f"{'; '.join(part['absent']) or 'none'}. The page in Chromium: `python -m benchmarks.measure_web`.",
        "",
    ]
    header = (
        "target", "MB", "agrees with PyTorch", "max abs dp", "balanced vs raters", "crops/s batch 1", "crops/s batch 64",
        "first call ms",
    )  # fmt: skip
    rows = [
        (
            r.target,
            f"{r.file_mb:.2f}" if r.file_mb is not None else "-",
            f"{r.top1_agreement:.1%}",
            f"{r.max_abs_dp:.1e}",
            f"{r.balanced_vs_raters:.4f}",
            f"{1e3 / r.batch1_ms:,.0f}",
            f"{r.batch64_per_s:,.0f}",
            f"{r.first_call_ms:.0f}",
        )
        for r in target_rows(part)
    ]
    lines += markdown_table(header, rows)
    lines += ["", *goal_table(targets_goals(part))]
    return "\n".join(lines)
