"""The main benchmark's report, rendered again from a stored result (`python -m benchmarks --render`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from tests.conftest import REPO

STORED = REPO / "benchmarks" / "results" / "2026-12-07.json"  # a whole run, serve and photo parts included


def test_a_stored_result_renders_its_goals_and_reasons_without_measuring(tmp_path):
    result = tmp_path / STORED.name
    shutil.copy(STORED, result)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--render", str(result)], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    written = result.with_suffix(".md").read_text()
    assert written == done.stdout  # printed as written, from the stored figures alone
    stored = json.loads(STORED.read_text())
    assert written.startswith(f"Benchmark of {stored['date']}")
    roof_row = next(line for line in written.splitlines() if "of the measured int8 roof" in line)
    share = roof_row.split("|")[2].strip()
    assert share.endswith("%") and 0 < int(share[:-1]) < 100
    assert roof_row.endswith("**no** |")  # missed in that run (66%), so the report says where the time went
    assert "- int8 at batch 64 against its roof:" in written


def test_the_robustness_docs_are_what_their_stored_run_renders(tmp_path):
    """docs/robustness.md is generated: the stored robustness result of the run its heading names renders it
    again byte for byte (its columns' models, flips and priors read from the result, its command line too)."""
    from benchmarks.report_robustness import write_robustness_docs
    from benchmarks.robustness_runs import part_columns

    docs = (REPO / "docs" / "robustness.md").read_text()
    stored = [json.loads(p.read_text()) for p in (REPO / "benchmarks" / "results").glob("*-robustness*.json")]
    [result] = [r for r in stored if f"Robustness run of {r['date']}:" in docs]
    write_robustness_docs(result, tmp_path)
    assert (tmp_path / "robustness.md").read_text() == docs
    columns = part_columns(result["robustness"])
    assert list(columns) == list(result["robustness"]["models"])
    assert all(column.name == name for name, column in columns.items())  # each heading says what it measured
