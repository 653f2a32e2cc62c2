"""A `fer-serve` process on a free loopback port, for the benchmark and the tests: started, waited for
until `/readyz` answers, stopped with SIGTERM (killed only if something went wrong); its workers, and
connections to it that send the start of a request and then nothing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

START_TIMEOUT_S = 60
SLOW_START = b"POST /v1/analyze HTTP/1.1\r\n"  # what a slow-header client sends before stalling
SERVE_COMMAND = (sys.executable, "-m", "fer_runtime.serve.cli")


@dataclass(frozen=True)
class Server:
    url: str
    process: subprocess.Popen[str]
    output: IO[str]  # a file, not a pipe: a pipe nobody reads fills up and stops a server that logs much

    def log(self) -> str:
        """Everything the server has logged so far."""
        self.output.seek(0)
        return self.output.read()

    def stop(self, timeout_s: float = 60) -> tuple[int, str]:
        """SIGTERM, then the exit status and everything the server logged."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=timeout_s)
        return self.process.returncode, self.log()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get_status(url: str) -> int | None:
    """The status a GET of `url` answers, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return None


def wait_for_waiting_faces(
    url: str, count: int, *, rising: bool = True, headers: dict[str, str] | None = None, timeout_s: float = 10
) -> int:
    """Polls /metrics until `fer_waiting_faces` (faces admitted, not yet answered) reaches `count` (from below when
    `rising`, else from above) or `timeout_s` passes; the last value read."""
    deadline = time.monotonic() + timeout_s
    while True:
        with urllib.request.urlopen(urllib.request.Request(f"{url}/metrics", headers=headers or {}), timeout=5) as page:
            text = page.read().decode()
        waiting = int(next(line.split()[1] for line in text.splitlines() if line.startswith("fer_waiting_faces ")))
        if (waiting >= count if rising else waiting <= count) or time.monotonic() > deadline:
            return waiting
        time.sleep(0.02)


@contextmanager
def serving(options: Sequence[str] = (), command: Sequence[str] = SERVE_COMMAND) -> Iterator[Server]:
    """`command` (fer-serve by default) with `options` on 127.0.0.1 and a free port, ready."""
    port = free_port()
    argv = [*command, "--host", "127.0.0.1", "--port", str(port), *options]
    output = tempfile.TemporaryFile("w+")
    process = subprocess.Popen(  # its own process group, so that workers go with it
        argv, stdout=output, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    server = Server(f"http://127.0.0.1:{port}", process, output)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while get_status(f"{server.url}/readyz") != 200:
            if process.poll() is not None:
                raise RuntimeError(f"{' '.join(argv)} exited: {server.log()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(argv)} was not ready within {START_TIMEOUT_S} s")
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        output.close()


def address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


@contextmanager
def stalled_connections(
    url: str, count: int, first_bytes: bytes = SLOW_START, timeout_s: float = 15
) -> Iterator[list[socket.socket]]:
    """`count` connections to the server at `url` that send `first_bytes` and then nothing of their own;
    their reads time out after `timeout_s`."""
    with ExitStack() as stack:
        sockets = []
        for _ in range(count):
            connection = stack.enter_context(socket.create_connection(address(url), timeout=timeout_s))
            connection.sendall(first_bytes)
            sockets.append(connection)
        yield sockets


def worker_pids(parent: int) -> set[int]:
    """The worker processes of a `fer-serve --workers N` (its supervisor's children that multiprocessing
    spawned; Linux only, read from /proc)."""
    tasks = Path(f"/proc/{parent}/task").iterdir()
    children = [pid for task in tasks for pid in (task / "children").read_text().split()]
    return {int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()}
