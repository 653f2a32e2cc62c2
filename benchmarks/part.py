"""One part of the benchmark run on its own (`python -m benchmarks.measure_serve`, `.measure_web`,
`.arch_speed`): the shared command-line options, and the result written as benchmarks/results/DATE-PART.json
and .md with the date and the CPU it was measured on."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.peak import CpuHeader, cpu_peak
from fer_runtime.atomic import write_text
from fer_train.data_root import data_root

REPO = Path(__file__).resolve().parents[1]


def part_parser(prog: str, description: str | None) -> argparse.ArgumentParser:
    """--data (the shared data folder) and --out (where results go); a part adds its own options."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--data", type=Path, default=data_root(), help="The shared data folder ($FER_SHARED_DATA).")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    return parser


def part_result(part: str, measured: dict[str, Any]) -> dict[str, Any]:
    """{date, cpu, part: measured}: a part's result with the date and the CPU it was measured on."""
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu_peak().header.to_json(),
        part: measured,
    }


def run_heading(result: dict[str, Any], what: str, note: str = "") -> str:
    """How a part's markdown starts: "WHAT of DATE NOTE: CPU, N cores" (`note`: a quick run's marker, say; the
    caller ends the sentence)."""
    cpu = CpuHeader.from_json(result["cpu"])
    return f"{what} of {result['date']}{note}: {cpu.cpu}, {cpu.cores} cores"


def write_part(out: Path, part: str, measured: dict[str, Any], markdown: Callable[[dict[str, Any]], str]) -> str:
    """`part_result` as out/DATE-part.json, its markdown as .md (also printed and returned)."""
    return write_result(out, part, part_result(part, measured), markdown)


def write_result(out: Path, part: str, result: dict[str, Any], markdown: Callable[[dict[str, Any]], str]) -> str:
    """A `part_result` as out/DATE-part.json, its markdown as .md (also printed and returned)."""
    stamp = f"{result['date'][:10]}-{part}"
    write_text(out / f"{stamp}.json", json.dumps(result, indent=2) + "\n")
    table = markdown(result)
    write_text(out / f"{stamp}.md", table + "\n")
    print(table)
    return table
