"""The fer-serve image (Containerfile) for the tests and the benchmark: built by scripts/build-image with
podman, run with a read-only root on the host's network (its server on 127.0.0.1 and a free port),
waited for until `/readyz` answers, stopped with SIGTERM."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.serve_process import free_port, get_status

REPO = Path(__file__).resolve().parents[1]
IMAGE = "localhost/fer-serve:latest"
BUILD_TIMEOUT_S = 900
START_TIMEOUT_S = 60
MAX_IMAGE_MB = 400  # the goals the benchmark and the tests hold the image to
MAX_READY_S = 5
MIN_HOST_RATIO = 0.9  # crops/s in the container against the same server on the host
# podman on machines like CI's (root, cgroup v1, no systemd): see deploy/podman/containers.conf
PODMAN_ENVIRONMENT = {"CONTAINERS_CONF": str(REPO / "deploy/podman/containers.conf"), "BUILDAH_ISOLATION": "chroot"}


def missing_tools() -> list[str]:
    return [tool for tool in ("podman", "mmdebstrap", "runc") if shutil.which(tool) is None]


def podman(*arguments: str, timeout_s: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *arguments],
        env={**os.environ, **PODMAN_ENVIRONMENT},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=check,
    )


def build_image() -> str:
    """scripts/build-image's output (the base made with mmdebstrap when there is none)."""
    done = subprocess.run(
        [str(REPO / "scripts/build-image")],
        env={**os.environ, **PODMAN_ENVIRONMENT},
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
    )
    if done.returncode != 0:
        raise RuntimeError(f"scripts/build-image failed ({done.returncode}): {(done.stdout + done.stderr)[-3000:]}")
    return done.stdout


def image_size_mb(image: str = IMAGE) -> float:
    return int(podman("image", "inspect", "--format", "{{.Size}}", image).stdout) / 1e6


@dataclass(frozen=True)
class Container:
    name: str
    url: str
    ready_s: float  # from `podman run` to /readyz answering 200

    def stop(self, timeout_s: float = 60) -> tuple[int, str]:
        """SIGTERM to fer-serve (PID 1), then its exit status and its log."""
        podman("kill", "--signal", "TERM", self.name)
        code = int(podman("wait", self.name, timeout_s=timeout_s).stdout.split()[0])
        return code, self.log()

    def log(self) -> str:
        done = podman("logs", self.name)
        return done.stdout + done.stderr


@contextmanager
def running(environment: Mapping[str, str] = {}, image: str = IMAGE, cpus: float | None = None) -> Iterator[Container]:
    """The image run with a read-only root, configured by `environment` (FER_SERVE_* variables)."""
    port = free_port()
    name = f"fer-serve-test-{port}"
    variables = {"FER_SERVE_HOST": "127.0.0.1", "FER_SERVE_PORT": str(port), **environment}
    options = [f"--env={key}={value}" for key, value in variables.items()]
    if cpus is not None:
        options.append(f"--cpus={cpus}")
    started = time.monotonic()
    podman("run", "--detach", "--read-only", "--network=host", f"--name={name}", *options, image)
    container = Container(name, f"http://127.0.0.1:{port}", 0.0)
    try:
        deadline = started + START_TIMEOUT_S
        while get_status(f"{container.url}/readyz") != 200:
            state = podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip()
            if state != "running" or time.monotonic() > deadline:
                raise RuntimeError(f"{image} not ready ({state}): {container.log()[-2000:]}")
            time.sleep(0.02)
        yield Container(name, container.url, time.monotonic() - started)
    finally:
        podman("rm", "--force", name, check=False)
