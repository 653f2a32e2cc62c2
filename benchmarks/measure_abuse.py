"""`fer-serve` against slow clients and a dying worker (127.0.0.1 only, every phase bounded in time): one-crop
POSTs from `wrk` alone and beside 2,000 connections that send their headers a byte a second, in turn, round
after round; whether the header deadline cuts as many off; then a worker of `--workers 2` killed with SIGKILL
under the same load."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.abuse_runs import HealthProbe, KilledWorker, MedianRun, SlowClients
from benchmarks.measure_serve import CONNECTIONS
from benchmarks.wrk_run import WrkRun, wrk
from fer_runtime.serve.connections import raise_open_file_limit
from fer_runtime.serve.settings import ServeSettings
from harness.serve_process import Server, get_status, serving, stalled_connections, worker_pids

SLOW_CLIENTS = 2000
KILL_AFTER_S = 3.0  # into the load, when a worker is killed
PROBE_EVERY_S = 0.02
TRICKLE_SLICES = 20
ROUNDS = 3


def _trickle(sockets: list[socket.socket], stop: threading.Event) -> None:
    """A byte of one more header line on each connection once a second, the connections taken in TRICKLE_SLICES
    turns spread over the second (as independent clients would be), until `stop`."""
    turn = 0
    while not stop.wait(1.0 / TRICKLE_SLICES):
        for connection in sockets[turn % TRICKLE_SLICES :: TRICKLE_SLICES]:
            try:
                connection.sendall(b"X")
            except OSError:  # closed by the server's deadline
                pass
        turn += 1


def _closed_with_408(connection: socket.socket) -> bool:
    try:
        return connection.recv(64).startswith(b"HTTP/1.1 408")
    except OSError:
        return False


@contextmanager
def _trickling(url: str, count: int, timeout_s: float) -> Iterator[list[socket.socket]]:
    """`count` stalled connections to `url`, each trickling its headers (`_trickle`) while the block runs."""
    with stalled_connections(url, count, timeout_s=timeout_s) as sockets:
        stop = threading.Event()
        thread = threading.Thread(target=_trickle, args=(sockets, stop), daemon=True)
        thread.start()
        try:
            yield sockets
        finally:
            stop.set()
            thread.join()


def _beside_slow_clients(url: str, crop_file: Path, seconds: float, count: int) -> WrkRun:
    """wrk while `count` connections trickle their headers."""
    with _trickling(url, count, timeout_s=15):
        return wrk(url, crop_file, "image/png", connections=CONNECTIONS, seconds=seconds)


def _median_run(runs: list[WrkRun]) -> MedianRun:
    """The run of median rate, with the median p99 of all."""
    middle = sorted(runs, key=lambda run: run.per_s)[len(runs) // 2]
    p99 = float(np.median([run.latency_ms.p99 for run in runs]))
    return MedianRun(replace(middle, latency_ms=middle.latency_ms.with_p99(p99)), runs)


def _cut_off(count: int) -> tuple[float, int, float, int]:
    """`count` slow-header clients against the default deadline: the deadline, how many were answered 408, within
    how many seconds, and the server's exit status."""
    deadline = ServeSettings().header_timeout_s
    with serving(["--threads", "1"]) as server:
        opened = time.monotonic()
        with _trickling(server.url, count, timeout_s=deadline + 10) as sockets:
            cut_off = sum(_closed_with_408(connection) for connection in sockets)
            waited = time.monotonic() - opened
        exit_status = server.stop()[0]
    return deadline, cut_off, waited, exit_status


def slow_clients(crop_file: Path, seconds: float, count: int = SLOW_CLIENTS, rounds: int = ROUNDS) -> SlowClients:
    """wrk alone and beside `count` slow-header connections, in turn for `rounds` rounds (their deadline set
    past the run, so that they stay), then the default deadline against as many."""
    raise_open_file_limit(count + 1024)
    alone, beside = [], []
    with serving(["--threads", "1", "--header-timeout", str(10 * rounds * seconds)]) as server:
        wrk(server.url, crop_file, "image/png", connections=CONNECTIONS, seconds=1)  # warm-up
        for _ in range(rounds):
            alone.append(wrk(server.url, crop_file, "image/png", connections=CONNECTIONS, seconds=seconds))
            beside.append(_beside_slow_clients(server.url, crop_file, seconds, count))
        exit_status = server.stop()[0]
    deadline, cut_off, waited, cut_off_exit = _cut_off(count)
    return SlowClients(
        slow_clients=count,
        alone=_median_run(alone),
        beside_slow=_median_run(beside),
        exit_status=exit_status or cut_off_exit,  # both servers', the first that failed
        header_timeout_s=deadline,
        cut_off_408=cut_off,
        cut_off_within_s=waited,
    )


def _probe(url: str, stop: threading.Event, out: dict[str, HealthProbe]) -> None:
    """GET /healthz every PROBE_EVERY_S: when each answered, and the longest stretch without a 200 (`out["probe"]`)."""
    answered, failures = [time.monotonic()], 0
    while not stop.wait(PROBE_EVERY_S):
        if get_status(f"{url}/healthz") == 200:
            answered.append(time.monotonic())
        else:
            failures += 1
    gaps = np.diff(answered)
    out["probe"] = HealthProbe(
        probes=len(answered) + failures, failures=failures, longest_gap_s=float(gaps.max(initial=0))
    )


def _replaced_after(server: Server, killed: int, before: set[int], limit_s: float) -> float | None:
    """Seconds until the supervisor started a worker in place of `killed` (None past `limit_s`)."""
    started = time.monotonic()
    os.kill(killed, signal.SIGKILL)
    while time.monotonic() - started < limit_s:
        if worker_pids(server.process.pid) - before:
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def killed_worker(crop_file: Path, seconds: float) -> KilledWorker:
    """wrk on `--workers 2` for `seconds`; KILL_AFTER_S in, one worker SIGKILLed; a probe on /healthz throughout."""
    with serving(["--workers", "2", "--threads", "1"]) as server:
        wrk(server.url, crop_file, "image/png", connections=CONNECTIONS, seconds=1)
        before = worker_pids(server.process.pid)
        runs: list[WrkRun] = []
        stop, probe = threading.Event(), dict[str, HealthProbe]()
        prober = threading.Thread(target=_probe, args=(server.url, stop, probe))
        load_s = max(seconds, 2 * KILL_AFTER_S)
        loader = threading.Thread(
            target=lambda: runs.append(wrk(server.url, crop_file, "image/png", connections=CONNECTIONS, seconds=load_s))
        )
        prober.start()
        loader.start()
        time.sleep(KILL_AFTER_S)
        replaced = _replaced_after(server, min(before), before, limit_s=30)
        loader.join()
        stop.set()
        prober.join()
        code, log = server.stop()
    return KilledWorker(
        run=runs[0],
        workers=len(before),
        replaced_after_s=replaced,
        probe=probe["probe"],
        startups=log.count("Application startup complete"),
        exit_status=code,
    )


def abuse_benchmark(work: Path, crop: np.ndarray, seconds: float, count: int = SLOW_CLIENTS) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    crop_file = work / "crop.png"
    cv2.imwrite(str(crop_file), crop)
    return {
        "slow_clients": slow_clients(crop_file, seconds, count).to_json(),
        "killed_worker": killed_worker(crop_file, seconds).to_json(),
    }


def main() -> None:
    """`python -m benchmarks.measure_abuse`: slow clients and a killed worker, written as
    benchmarks/results/DATE-abuse.json and .md."""
    import tempfile

    from benchmarks.part import REPO, part_parser, write_part
    from benchmarks.report import fill_block
    from benchmarks.report_hostile import abuse_markdown
    from fer_runtime.recognizer import Recognizer
    from fer_train.data import load_dataset

    parser = part_parser("python -m benchmarks.measure_abuse", main.__doc__)
    parser.add_argument("--seconds", type=float, default=4.0, help="Length of each load phase.")
    parser.add_argument("--slow-clients", type=int, default=SLOW_CLIENTS, help="Connections stalled in their headers.")
    parser.add_argument("--update-readme", action="store_true", help="Put the result into README.md.")
    args = parser.parse_args()
    test = load_dataset(args.data / "seed" / "Test_250.zip", Recognizer().spec)
    with tempfile.TemporaryDirectory() as tmp:
        measured = abuse_benchmark(Path(tmp), test.pixels[0], args.seconds, args.slow_clients)
    table = write_part(args.out, "abuse", measured, abuse_markdown)
    if args.update_readme:
        fill_block(REPO / "README.md", "<!-- abuse:start -->", "<!-- abuse:end -->", table)


if __name__ == "__main__":
    main()
