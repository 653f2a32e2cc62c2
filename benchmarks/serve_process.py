"""A `fer-serve` process on a free loopback port, for the benchmark and the tests: started, waited for
until `/readyz` answers, stopped with SIGTERM (killed only if something went wrong)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

START_TIMEOUT_S = 60
SERVE_COMMAND = (sys.executable, "-m", "fer_runtime.serve.cli")


@dataclass(frozen=True)
class Server:
    url: str
    process: subprocess.Popen[str]

    def stop(self, timeout_s: float = 60) -> tuple[int, str]:
        """SIGTERM, then the exit status and everything the server logged."""
        self.process.send_signal(signal.SIGTERM)
        log, _ = self.process.communicate(timeout=timeout_s)
        return self.process.returncode, log


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


@contextmanager
def serving(options: Sequence[str] = (), command: Sequence[str] = SERVE_COMMAND) -> Iterator[Server]:
    """`command` (fer-serve by default) with `options` on 127.0.0.1 and a free port, ready."""
    port = free_port()
    argv = [*command, "--host", "127.0.0.1", "--port", str(port), *options]
    process = subprocess.Popen(  # its own process group, so that workers go with it
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while get_status(f"{url}/readyz") != 200:
            if process.poll() is not None:
                raise RuntimeError(f"{' '.join(argv)} exited: {process.communicate()[0][-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(argv)} was not ready within {START_TIMEOUT_S} s")
            time.sleep(0.1)
        yield Server(url, process)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate(timeout=30)
