"""The fuzz run (127.0.0.1 only, bounded in count): mutated image files (`benchmarks.mutate`, seeded) posted to a
real `fer-serve` one after another, and the same files labelled by one `fer-run` process over a folder. Counted:
each answer's status, files answered with a record or a one-line error, and tracebacks in either log."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.fuzz_runs import NO_ANSWER, FolderRun, Uploads
from benchmarks.mutate import corpus, seed_files
from harness.serve_process import address, get_status, serving

FILES = 10_000
CLIENT_TIMEOUT_S = 60  # past the server's own 30 s limit, so that a slow answer is its 504, not a client timeout


def _post_all(url: str, files: list[tuple[str, bytes]]) -> tuple[Counter[str], dict[str, Counter[str]], float]:
    """Each file's bytes to /v1/analyze on a kept-alive connection (a new one when the server closes it): the
    answers by status, the same by mutation, and the seconds it took."""
    host, port = address(url)
    connection = http.client.HTTPConnection(host, port, timeout=CLIENT_TIMEOUT_S)
    statuses: Counter[str] = Counter()
    by_mutation: dict[str, Counter[str]] = {}
    started = time.perf_counter()
    for kind, data in files:
        try:
            connection.request("POST", "/v1/analyze", data, {"Content-Type": "application/octet-stream"})
            answer = connection.getresponse()
            answer.read()
            status, close = str(answer.status), answer.getheader("connection", "").lower() == "close"
        except OSError:  # no answer in time, or the connection dropped: counted, and a new connection
            status, close = NO_ANSWER, True
        statuses[status] += 1
        by_mutation.setdefault(kind, Counter())[status] += 1
        if close:
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=CLIENT_TIMEOUT_S)
    connection.close()
    return statuses, by_mutation, time.perf_counter() - started


def uploads(files: list[tuple[str, bytes]]) -> Uploads:
    with serving(["--threads", "1"]) as server:
        statuses, by_mutation, seconds = _post_all(server.url, files)
        alive = get_status(f"{server.url}/healthz") == 200
        code, log = server.stop()
    return Uploads(
        statuses=dict(statuses),
        by_mutation={kind: dict(counts) for kind, counts in by_mutation.items()},
        seconds=seconds,
        alive_after=alive,
        tracebacks=log.count("Traceback"),
        exit_status=code,
    )


def failed_files(stderr: str) -> list[str]:
    """The files fer-run's one-line errors name (searched anywhere in a line: a codec's own warning, written
    to the same stream from another thread, may precede one without its newline)."""
    return re.findall(r"Error: (\S+\.jpg): ", stderr)


def folder_run(files: list[tuple[str, bytes]], folder: Path) -> FolderRun:
    """The files written into `folder`, then one `fer-run FOLDER --output out.jsonl` process."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, (kind, data) in enumerate(files):
        (folder / f"{i:05d}-{kind}.jpg").write_bytes(data)
    out = folder.parent / "fuzz.jsonl"
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "fer_runtime.cli", "--threads", "1", str(folder), "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=3600,
        env={**os.environ, "OPENCV_LOG_LEVEL": "OFF"},
    )
    errors = set(failed_files(done.stderr))
    records = len(out.read_text().splitlines()) if out.exists() else 0
    return FolderRun(
        files=len(files),
        records=records,
        error_lines=len(errors),
        tracebacks=done.stderr.count("Traceback"),
        stderr_tail=done.stderr[-2000:] if "Traceback" in done.stderr else "",
        exit_status=done.returncode,
        seconds=time.perf_counter() - started,
    )


def fuzz_benchmark(photos: Path, work: Path, count: int = FILES, seed: int = 0) -> dict[str, Any]:
    files = list(corpus(seed_files(photos), count, seed))
    return {
        "files": count,
        "seed": seed,
        "uploads": uploads(files).to_json(),
        "fer_run": folder_run(files, work / "corpus").to_json(),
    }


def main() -> None:
    """`python -m benchmarks.measure_fuzz`: the fuzz run, written as benchmarks/results/DATE-fuzz.json and .md."""
    import tempfile

    from benchmarks.part import REPO, part_parser, write_part
    from benchmarks.report import fill_block
    from benchmarks.report_hostile import fuzz_markdown

    parser = part_parser("python -m benchmarks.measure_fuzz", main.__doc__)
    parser.add_argument("--files", type=int, default=FILES, help="Mutated files (each posted and labelled once).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--update-readme", action="store_true", help="Put the result into README.md.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measured = fuzz_benchmark(args.data / "photos", Path(tmp), args.files, args.seed)
    table = write_part(args.out, "fuzz", measured, fuzz_markdown)
    if args.update_readme:
        fill_block(REPO / "README.md", "<!-- fuzz:start -->", "<!-- fuzz:end -->", table)


if __name__ == "__main__":
    main()
