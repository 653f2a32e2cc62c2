"""fer-serve's admission: the queue's limit, the layer that sheds analyze requests when the service is full, and
the micro-batcher that runs concurrent requests' faces together."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

pytest.importorskip("starlette", reason='fer-serve needs the serve extra: pip install "fer_runtime[serve]"')
from starlette.testclient import TestClient  # noqa: E402

from fer_runtime.serve import ServeSettings, create_app  # noqa: E402
from fer_runtime.serve.batching import Admission, MicroBatcher  # noqa: E402
from fer_runtime.serve.errors import RequestError  # noqa: E402
from fer_runtime.serve.shedding import LoadShedding  # noqa: E402
from tests.test_serve import CROP  # noqa: E402


def test_admission_turns_requests_away_past_its_limit():
    admission = Admission(limit=3)
    with admission.take() as first, admission.take():
        first.resize(2)  # its image held two faces
        assert admission.load == 3
        with pytest.raises(RequestError) as refused:
            admission.take()
        assert refused.value.status == 503 and refused.value.headers == {"Retry-After": "1"}
    assert admission.load == 0


def test_a_full_service_turns_analyze_requests_away_before_routing():
    with TestClient(create_app(ServeSettings(threads=1, max_queue=2))) as full:
        service = full.app.state.service  # type: ignore[attr-defined]
        service.admission.load = 2  # two faces admitted and not yet answered
        for path in ("/v1/analyze", "/v1/analyze/batch"):
            answer = full.post(path, content=CROP, headers={"Content-Type": "image/png"})
            assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
            assert answer.json() == {"error": "busy: 2 faces waiting (limit 2)"}
        assert full.get("/healthz").status_code == 200  # the probes still answer
        metrics = full.get("/metrics").text  # counted as the endpoints' own 503s were
        assert all(
            f'fer_requests_total{{route="{p}",status="503"}} 1' in metrics for p in ("/v1/analyze", "/v1/analyze/batch")
        )
        service.admission.load = 0
        assert full.post("/v1/analyze", content=CROP, headers={"Content-Type": "image/png"}).status_code == 200


def test_load_shedding_answers_without_the_app_only_when_full():
    admission, reached, sent = Admission(limit=1), [], []

    async def app(scope, receive, send):
        reached.append((scope["method"], scope["path"]))

    async def send(message):
        sent.append(message)

    shedding = LoadShedding(app, admission, {"/v1/analyze"})

    def call(method: str, path: str) -> None:
        scope = {"type": "http", "method": method, "path": path}
        asyncio.run(shedding(scope, None, send))  # type: ignore[arg-type]

    call("POST", "/v1/analyze")
    admission.load = 1
    call("POST", "/v1/analyze")
    call("GET", "/v1/analyze")  # not an analysis: the app answers (405)
    call("POST", "/v1/other")
    assert reached == [("POST", "/v1/analyze"), ("GET", "/v1/analyze"), ("POST", "/v1/other")]
    assert [m.get("status") for m in sent] == [503, None] and sent[1]["body"].startswith(b'{"error":"busy: 1')


def test_micro_batcher_runs_concurrent_requests_together():
    sizes: list[int] = []

    def run(batch: np.ndarray) -> np.ndarray:
        sizes.append(len(batch))
        return batch.reshape(len(batch), -1)[:, :1] * 2

    async def scenario() -> list[np.ndarray]:
        batcher = MicroBatcher(run, max_batch=4, max_wait_s=0.05)
        batcher.start()
        requests = [np.full((n, 1, 2, 2), i, np.float32) for i, n in enumerate([1, 2, 1, 3, 1])]
        answers = await asyncio.gather(*(batcher.submit(r) for r in requests))
        await batcher.stop()
        return answers

    answers = asyncio.run(scenario())
    assert sizes == [4, 4]  # whole requests, at most 4 faces: [1, 2, 1] and [3, 1]
    assert [a.ravel().tolist() for a in answers] == [[0], [2, 2], [4], [6, 6, 6], [8]]


@pytest.mark.parametrize("in_flight", [1, 2])
def test_micro_batcher_runs_up_to_in_flight_batches_at_once(in_flight):
    """Two full batches, each of whose model calls waits (0.5 s at most) for the other to be running too:
    they meet only when two may run at once; one at a time, each call gives up waiting and its request gets
    the model's failure (500)."""
    meeting = threading.Barrier(2, timeout=0.5)

    def run(batch: np.ndarray) -> np.ndarray:
        meeting.wait()
        return batch.reshape(len(batch), -1)[:, :1]

    async def scenario() -> list[np.ndarray | BaseException]:
        batcher = MicroBatcher(run, max_batch=2, max_wait_s=0.01, in_flight=in_flight)
        batcher.start()
        requests = [np.full((2, 1, 2, 2), i, np.float32) for i in range(2)]
        answers = await asyncio.gather(*(batcher.submit(r) for r in requests), return_exceptions=True)
        await batcher.stop()
        return answers

    answers = asyncio.run(scenario())
    if in_flight == 2:
        assert [a.ravel().tolist() for a in answers] == [[0, 0], [1, 1]]  # type: ignore[union-attr]
    else:
        assert all(isinstance(a, RequestError) and a.status == 500 for a in answers)
