"""The fer-serve image, built by scripts/build-image and run under podman: small, ready fast, answering as
the host's runtime does, refusing bad uploads, draining on SIGTERM, as a non-root user on a read-only root."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest

httpx = pytest.importorskip("httpx2", reason='the container tests need the test extra: pip install -e ".[test]"')

from benchmarks.container import (  # noqa: E402
    IMAGE,
    MAX_IMAGE_MB,
    build_image,
    image_size_mb,
    missing_tools,
    podman,
    running,
)
from harness.serve_process import wait_for_waiting_faces  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def image() -> str:
    if missing_tools():
        pytest.fail(f"the container tests need {', '.join(missing_tools())} (apt-get install; .ci/run does)")
    build_image()
    return IMAGE


def host_record(photo: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "fer_runtime.cli", str(photo), "--json"], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_the_image_answers_as_the_host_does_as_non_root_on_a_read_only_root(image, shared_data):
    assert image_size_mb(image) <= MAX_IMAGE_MB
    photos = sorted((shared_data / "photos").glob("*.jpg"))
    assert photos
    with running() as container:
        for photo in photos:
            answer = httpx.post(f"{container.url}/v1/analyze", content=photo.read_bytes(), timeout=30)
            assert answer.status_code == 200
            assert answer.json()["faces"] == host_record(photo)["faces"]
        bad = httpx.post(f"{container.url}/v1/analyze", content=b"not an image", timeout=30)
        assert 400 <= bad.status_code < 500 and "error" in bad.json()
        assert podman("exec", container.name, "id", "-u").stdout.strip() == "10001"
        write = podman("exec", container.name, "touch", "/opt/fer/written", check=False)
        assert write.returncode != 0 and "Read-only file system" in write.stderr
        assert podman("healthcheck", "run", container.name, check=False).returncode == 0


def test_settings_come_from_the_environment_and_sigterm_drains(image):
    body = cv2.imencode(".png", np.full((48, 48), 128, np.uint8))[1].tobytes()
    settings = {"FER_SERVE_MAX_WAIT_MS": "1500", "FER_SERVE_THREADS": "1", "FER_SERVE_TOKEN": "secret"}
    with running(settings) as container:
        assert httpx.post(f"{container.url}/v1/analyze", content=body, timeout=30).status_code == 401
        headers = {"Authorization": "Bearer secret", "Content-Type": "image/png"}
        with httpx.Client(timeout=60, headers=headers) as client, ThreadPoolExecutor(6) as pool:
            in_flight = [pool.submit(client.post, f"{container.url}/v1/analyze", content=body) for _ in range(6)]
            # until all 6 are admitted (at most 10 s), each waiting up to 1.5 s for company
            wait_for_waiting_faces(container.url, 6, headers=headers)
            code, log = container.stop()
            assert [answer.result().status_code for answer in in_flight] == [200] * 6
        assert code == 0, log[-2000:]
        assert "fer_default" in log
