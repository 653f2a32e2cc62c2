"""fer-serve's batch route given a stack of face crops as one NumPy .npy array (no decoding, no detection)."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest

pytest.importorskip("starlette", reason='fer-serve needs the serve extra: pip install "fer_runtime[serve]"')
from starlette.testclient import TestClient  # noqa: E402

from fer_runtime.serve import ServeSettings, create_app  # noqa: E402

NPY = {"Content-Type": "application/x-npy"}


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def png(image: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(".png", image)
    assert ok
    return buffer.tobytes()


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(ServeSettings(threads=1, max_body_mb=0.5, max_pixels=20_000))) as test_client:
        yield test_client


def _as_files(client: TestClient, crops: np.ndarray, query: str = "") -> list[dict]:
    files = [("file", (f"{i}.png", png(crop))) for i, crop in enumerate(crops)]
    return client.post(f"/v1/analyze/batch?no_detect=1{query}", files=files).json()["images"]


@pytest.mark.parametrize("shape", [(5, 48, 48), (3, 90, 70), (2, 64, 64, 3)])
def test_a_stack_is_answered_as_its_crops_sent_as_files(client, shape):
    crops = np.random.default_rng(len(shape)).integers(0, 255, shape, dtype=np.uint8)
    answer = client.post("/v1/analyze/batch?top_k=2", content=npy(crops), headers=NPY)
    assert answer.status_code == 200
    images, expected = answer.json()["images"], _as_files(client, crops, "&top_k=2")
    assert len(images) == len(crops) == len(expected)
    for got, want in zip(images, expected):
        [a], [b] = got["faces"], want["faces"]
        assert a["box"] == b["box"] == [0, 0, shape[2], shape[1]] and a["label"] == b["label"]
        assert a["scores"] == pytest.approx(b["scores"], abs=1e-5) and len(a["scores"]) == 2


def test_a_stack_takes_the_query_options(client):
    crops = np.random.default_rng(1).integers(0, 255, (3, 48, 48), dtype=np.uint8)
    answer = client.post("/v1/analyze/batch?min_confidence=1", content=npy(crops), headers=NPY).json()
    assert [image["faces"][0]["label"] for image in answer["images"]] == ["uncertain"] * 3


def _forged(shape: str) -> bytes:
    body = npy(np.zeros((1, 4, 4), np.uint8))
    return body.replace(b"(1, 4, 4)", shape.encode())


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"", 400, "not a readable .npy array"),
        (b"\x93NUMPY\x01\x00garbage", 400, "not a readable .npy array"),
        (npy(np.zeros((2, 48, 48), np.float32)), 422, "not a float32 [2, 48, 48]"),
        (npy(np.zeros((48, 48), np.uint8)), 422, "[N, H, W] or [N, H, W, 3]"),
        (npy(np.zeros((2, 48, 48, 4), np.uint8)), 422, "[N, H, W] or [N, H, W, 3]"),
        (npy(np.asfortranarray(np.zeros((2, 48, 48), np.uint8))), 422, "Fortran-order"),
        (npy(np.array([{"a": 1}], dtype=object)), 422, "not a object"),
        (npy(np.zeros((0, 48, 48), np.uint8)), 400, "empty stack"),
        (npy(np.zeros((65, 8, 8), np.uint8)), 400, "more than 64 crops"),
        (npy(np.zeros((1, 200, 200), np.uint8)), 413, "over this server's limit of 20,000"),
        (_forged("(9, 4, 4)"), 400, "holds 16 bytes of pixels where its header declares 144"),
        (_forged("(99999, 99, 99)"), 400, "more than 64 crops"),
        (npy(np.zeros((1, 4, 4), np.uint8)) + b"extra", 400, "holds 21 bytes"),
    ],
)
def test_bad_stacks_are_4xx_with_a_reason(client, body, status, words):
    answer = client.post("/v1/analyze/batch", content=body, headers=NPY)
    assert answer.status_code == status and words in answer.json()["error"]


def test_the_one_image_route_points_at_the_batch_route_for_stacks(client):
    answer = client.post("/v1/analyze", content=npy(np.zeros((1, 48, 48), np.uint8)), headers=NPY)
    assert answer.status_code == 415 and "goes to /v1/analyze/batch" in answer.json()["error"]
    wrong = client.post("/v1/analyze/batch", content=b"abc", headers={"Content-Type": "image/png"})
    assert wrong.status_code == 415 and "application/x-npy" in wrong.json()["error"]
