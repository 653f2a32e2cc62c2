"""A real `fer-serve` against abusive clients and faults: connections that send their headers slowly or not at
all, bodies trickled in, too many connections, a worker killed with SIGKILL, and a model file that is corrupt.
(The figures under load, 2,000 slow clients and a kill under wrk, are `python -m benchmarks.measure_abuse`'s.)"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx2", reason='the service tests need the test extra: pip install -e ".[test]"')

from harness.serve_process import SERVE_COMMAND, serving, stalled_connections, worker_pids  # noqa: E402
from tests.test_serve_process import CROP, PNG, post_many  # noqa: E402

RECEIVE_TIMEOUT_S = 15  # the longest a test socket waits for the server to answer or close


def answer_or_close(sock: socket.socket) -> bytes:
    """What the server sends before it closes the connection (bounded by the socket's timeout)."""
    chunks = []
    while chunk := sock.recv(4096):
        chunks.append(chunk)
    return b"".join(chunks)


def test_connections_without_whole_headers_are_answered_408_and_closed():
    with serving(["--threads", "1", "--header-timeout", "1"]) as server:
        started = time.monotonic()
        with stalled_connections(server.url, 1, b"") as [silent], stalled_connections(server.url, 1) as [slow]:
            for _ in range(4):  # a header line every 0.4 s: still not whole when the deadline passes
                slow.sendall(b"X-Slow: 1\r\n")
                time.sleep(0.4)
            for sock in (silent, slow):
                answer = answer_or_close(sock)
                assert answer.startswith(b"HTTP/1.1 408 ") and b"within 1 s" in answer
        assert time.monotonic() - started < RECEIVE_TIMEOUT_S
        with httpx.Client() as client:  # a kept-alive connection idle between requests is not cut off by it
            assert client.post(f"{server.url}/v1/analyze", content=CROP, headers=PNG).status_code == 200
            time.sleep(1.5)
            assert client.post(f"{server.url}/v1/analyze", content=CROP, headers=PNG).status_code == 200
        assert server.stop()[0] == 0


def test_slow_clients_do_not_starve_normal_ones():
    """300 connections stuck in their headers and one trickling its body (holding a connection, not a place in
    the queue of one face): normal requests are still answered."""
    with serving(["--threads", "1", "--max-queue", "1"]) as server:
        with stalled_connections(server.url, 300), stalled_connections(server.url, 1, b"") as [trickle]:
            trickle.sendall(
                b"POST /v1/analyze HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n"
            )
            trickle.sendall(CROP[:10])
            assert post_many(server.url, 1) == [200]
            assert [post_many(server.url, 1)[0] for _ in range(8)] == [200] * 8
            trickle.sendall(CROP[10:])  # the rest of a body shorter than declared: never complete, timed out
        assert server.stop()[0] == 0


def test_past_the_connection_limit_new_requests_are_answered_503():
    with serving(["--threads", "1", "--max-connections", "20"]) as server:
        with stalled_connections(server.url, 20):
            assert httpx.get(f"{server.url}/healthz").status_code == 503
        deadline = time.monotonic() + RECEIVE_TIMEOUT_S
        while httpx.get(f"{server.url}/healthz").status_code != 200:  # bounded: until the server saw them close
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert server.stop()[0] == 0


@pytest.mark.slow
def test_a_worker_killed_under_load_is_replaced_and_only_its_requests_fail():
    if not Path("/proc/self/task").is_dir():
        pytest.skip("needs Linux's /proc to find the workers")
    with serving(["--workers", "2", "--threads", "1"]) as server:
        first = worker_pids(server.process.pid)
        assert len(first) == 2
        stop_at = time.monotonic() + 8
        with ThreadPoolExecutor(4) as pool:

            def load() -> list[int | str]:
                statuses: list[int | str] = []
                with httpx.Client(timeout=10) as client:
                    while time.monotonic() < stop_at:  # bounded in time
                        try:
                            statuses.append(
                                client.post(f"{server.url}/v1/analyze", content=CROP, headers=PNG).status_code
                            )
                        except httpx.TransportError:
                            statuses.append("reset")
                return statuses

            clients = [pool.submit(load) for _ in range(4)]
            time.sleep(2)
            os.kill(sorted(first)[0], signal.SIGKILL)
            deadline = time.monotonic() + 30
            while len(worker_pids(server.process.pid) - first) < 1:  # bounded: until the supervisor replaced it
                assert time.monotonic() < deadline, "the killed worker was not replaced"
                time.sleep(0.1)
            results = [status for done in clients for status in done.result()]
        assert results.count(200) > 0.9 * len(results)
        assert all(status == 200 for status in results if status != "reset")  # the others kept answering
        assert results.count("reset") <= 4  # at most one in-flight request per client connection
        assert post_many(server.url, 8) == [200] * 8
        code, log = server.stop()
        assert code == 0 and log.count("Application startup complete") == 3, log[-2000:]


@pytest.mark.parametrize("command", [SERVE_COMMAND, (sys.executable, "-m", "fer_runtime.cli")])
def test_a_corrupt_model_file_is_one_line_and_a_non_zero_exit(command, tmp_path):
    model = tmp_path / "model.onnx"
    model.write_bytes((Path(__file__).parents[1] / "exported" / "fer_default.int8.onnx").read_bytes()[:50_000])
    args = [*command, "--model", str(model), *([str(tmp_path)] if "fer_runtime.cli" in command else [])]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    lines = done.stderr.strip().splitlines()
    assert (
        done.returncode == 1
        and len(lines) == 1
        and re.match(r"Error: .*model\.onnx: not a loadable ONNX model", lines[0])
    )
    model.unlink()
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0 and "model.onnx" in lines[-1] and "Traceback" not in done.stderr


def test_the_open_file_limit_is_raised_towards_what_the_connections_need():
    script = (
        "import resource; from fer_runtime.serve.connections import raise_open_file_limit as r; "
        "hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]; resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard)); "
        "print(r(100), r(1000), resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    kept, raised, now, hard = (int(v) for v in done.stdout.split())
    assert kept == 256  # never lowered
    assert raised == now == (1000 if hard < 0 else min(1000, hard))  # hard < 0: unlimited
