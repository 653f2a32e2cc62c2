"""A real `fer-serve` on a free loopback port: concurrency, overload, SIGTERM with requests in flight, bad
requests under load, several workers, and the documented `uvicorn --factory` start."""

from __future__ import annotations

import re
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

httpx = pytest.importorskip("httpx2", reason='the service tests need the test extra: pip install -e ".[test]"')

from fer_runtime.serve import healthcheck  # noqa: E402
from harness.serve_process import address, serving, wait_for_waiting_faces  # noqa: E402

CROP = cv2.imencode(".png", np.random.default_rng(0).integers(0, 255, (48, 48), dtype=np.uint8))[1].tobytes()
PNG = {"Content-Type": "image/png"}


def post_many(url: str, count: int, body: bytes = CROP, query: str = "") -> list[int]:
    with httpx.Client(timeout=60, limits=httpx.Limits(max_connections=count)) as client:
        with ThreadPoolExecutor(count) as pool:
            answers = pool.map(
                lambda _: client.post(f"{url}/v1/analyze{query}", content=body, headers=PNG), range(count)
            )
            return [a.status_code for a in answers]


def shared_model_calls(url: str) -> int:
    """Model calls that classified more than one face, from /metrics."""
    text = httpx.get(f"{url}/metrics").text
    single = int(re.search(r'fer_batch_faces_bucket\{le="1"\} (\d+)', text).group(1))
    return int(re.search(r"fer_batch_faces_count (\d+)", text).group(1)) - single


def test_concurrent_requests_share_model_calls_and_sigterm_answers_those_in_flight():
    with serving(["--threads", "1", "--max-wait-ms", "2000"]) as server:
        url = server.url
        assert post_many(url, 24) == [200] * 24
        assert shared_model_calls(url) > 0  # 24 requests at once did not make 24 model calls
        with ThreadPoolExecutor(8) as pool:
            in_flight = pool.submit(post_many, url, 8)  # each waits up to 2 s for company in the batcher
            wait_for_waiting_faces(url, 8)  # until all 8 are admitted (at most 10 s)
            code, log = server.stop()
            assert in_flight.result() == [200] * 8
        assert code == 0, log[-2000:]
        assert "sha256" in log and "fer_default" in log  # the start-up line names the model
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{url}/healthz", timeout=2)


def test_overload_is_turned_away_at_once_and_bad_requests_under_load_are_4xx():
    with serving(["--threads", "1", "--max-queue", "4", "--max-wait-ms", "50"]) as server:
        url = server.url
        with ThreadPoolExecutor(2) as pool:
            load = pool.submit(post_many, url, 48)
            started = time.monotonic()
            while time.monotonic() - started < 0.3:  # bounded: bad requests while the load runs
                for body, headers, status in [
                    (b"", PNG, 400),
                    (b"junk", PNG, 415),
                    (CROP, {"Content-Type": "text/plain"}, 415),
                    (
                        b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x01\x00\x00\x00\x01\x00\x00\x08\x00\x00\x00\x00",
                        PNG,
                        413,
                    ),
                ]:
                    answer = httpx.post(f"{url}/v1/analyze", content=body, headers=headers, timeout=30)
                    assert answer.status_code in (status, 503), (answer.status_code, answer.text)
            statuses = load.result()
        assert set(statuses) <= {200, 503} and statuses.count(200) >= 4 and 503 in statuses
        busy = post_many(url, 24)
        assert 503 in busy or busy == [200] * 24
        assert httpx.get(f"{url}/readyz").status_code == 200  # healthy after the flood
        code, _ = server.stop()
        assert code == 0


def test_several_workers_serve_and_stop_cleanly():
    with serving(["--workers", "2", "--threads", "1"]) as server:
        url = server.url
        assert post_many(url, 8) == [200] * 8
        code, log = server.stop()
        assert code == 0 and log.count("Application startup complete") == 2, log[-2000:]


def test_the_documented_uvicorn_factory_start():
    command = (sys.executable, "-m", "uvicorn", "--factory", "fer_runtime.serve:create_app")
    with serving(command=command) as server:
        url = server.url
        answer = httpx.post(f"{url}/v1/analyze", content=CROP, headers=PNG)
        assert answer.status_code == 200 and len(answer.json()["faces"]) == 1
        code, _ = server.stop()
        assert code in (0, -signal.SIGTERM)  # uvicorn's own CLI re-raises SIGTERM after its graceful stop


def test_settings_from_the_environment_and_the_health_check(monkeypatch):
    """As a container is configured: FER_SERVE_<NAME> sets an option, a flag overrides it, and
    `python -m fer_runtime.serve.healthcheck` (the image's HEALTHCHECK) reports the answer."""
    monkeypatch.setenv("FER_SERVE_TOKEN", "secret")
    monkeypatch.setenv("FER_SERVE_MAX_BODY_MB", "0.001")  # 1 kB: CROP is 2.4 kB
    monkeypatch.setenv("FER_SERVE_PORT", "1")  # serving's --port flag wins
    with serving(["--threads", "1"]) as server:
        url, port = server.url, address(server.url)[1]
        assert httpx.get(f"{url}/metrics").status_code == 401
        authorised = {**PNG, "Authorization": "Bearer secret"}
        assert httpx.post(f"{url}/v1/analyze", content=CROP, headers=authorised).status_code == 413
        assert healthcheck.check("/readyz", port=port) is None
        assert healthcheck.check("/nowhere", port=port) == f"{url}/nowhere answered 404"
        monkeypatch.setenv("FER_SERVE_PORT", str(port))
        assert healthcheck.main([]) == 0
        server.stop()
    assert healthcheck.main([]) == 1  # nothing listens now
