"""fer-serve in process (Starlette's TestClient, no socket): every endpoint and every bad input."""

from __future__ import annotations

import os
import struct
import zlib

import cv2
import numpy as np
import pytest

pytest.importorskip("starlette", reason='fer-serve needs the serve extra: pip install "fer_runtime[serve]"')
from starlette.testclient import TestClient  # noqa: E402

from fer_runtime import Recognizer  # noqa: E402
from fer_runtime.errors import FerError  # noqa: E402
from fer_runtime.model_files import sha256_file  # noqa: E402
from fer_runtime.preprocess import decode_image  # noqa: E402
from fer_runtime.results import face_record  # noqa: E402
from fer_runtime.serve import ServeSettings, create_app, settings  # noqa: E402
from fer_runtime.serve.uploads import read_header  # noqa: E402


def encode(image: np.ndarray, suffix: str = ".png") -> bytes:
    ok, buffer = cv2.imencode(suffix, image)
    assert ok
    return buffer.tobytes()


def png_declaring(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk for an image of width x height, and nothing after: a bomb's header."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))


CROP = encode(np.random.default_rng(0).integers(0, 255, (48, 48), dtype=np.uint8))


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(ServeSettings(threads=1, max_body_mb=0.5, max_pixels=5_000_000))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def photo(shared_data) -> bytes:
    return (shared_data / "photos" / "justin.jpg").read_bytes()


def test_analyze_gives_fer_runs_records(client, photo):
    expected = [face_record(f, 2) for f in Recognizer(threads=1).analyze(decode_image(photo))]
    answer = client.post("/v1/analyze?top_k=2", content=photo, headers={"Content-Type": "image/jpeg"})
    assert answer.status_code == 200 and answer.json() == {"faces": expected}
    assert len(expected) == 1 and set(expected[0]) == {
        "box", "label", "confidence", "scores", "detection_score", "landmarks"
    }  # fmt: skip
    form = client.post("/v1/analyze", params={"top_k": 2}, files={"file": ("justin.jpg", photo, "image/jpeg")})
    assert form.json() == {"faces": expected}


def test_prior_and_tta_settings_reach_the_answers(photo):
    options = {"threads": 1, "prior": "uniform", "tta": "flip"}
    expected = [face_record(f, 4) for f in Recognizer(**options).analyze(decode_image(photo))]
    plain = face_record(Recognizer(threads=1, prior="trained").analyze(decode_image(photo))[0], 4)
    assert expected[0]["scores"] != plain["scores"]  # the settings change the answer
    with TestClient(create_app(ServeSettings(**options))) as flipped:
        answer = flipped.post("/v1/analyze?top_k=4", content=photo, headers={"Content-Type": "image/jpeg"})
        model = flipped.get("/v1/model").json()
    assert answer.json() == {"faces": expected}
    assert (model["prior"], model["tta"]) == ("uniform", "flip")


def test_query_options(client, photo):
    crop = client.post(
        "/v1/analyze?no_detect=true&min_confidence=1", content=CROP, headers={"Content-Type": "image/png"}
    )
    [face] = crop.json()["faces"]
    assert face["box"] == [0, 0, 48, 48] and face["label"] == "uncertain" and "detection_score" not in face
    strict = client.post("/v1/analyze?detect_threshold=0.99", content=photo, headers={"Content-Type": "image/jpeg"})
    assert strict.status_code == 200 and strict.json() == {"faces": []}  # justin's face scores 0.95
    whole = client.post("/v1/analyze?no_detect=1", content=photo, headers={"Content-Type": "image/jpeg"})
    assert [f["box"] for f in whole.json()["faces"]] == [[0, 0, *decode_image(photo).shape[1::-1]]]


def test_batch_answers_each_image_in_order(client, photo):
    files = [("file", ("a.jpg", photo)), ("file", ("b.bin", b"not an image")), ("file", ("c.png", CROP))]
    answer = client.post("/v1/analyze/batch", files=files)
    assert answer.status_code == 200
    first, second, third = answer.json()["images"]
    assert len(first["faces"]) == 1 and first["faces"][0]["label"] in ("angry", "happy", "neutral", "sad")
    assert second["status"] == 415 and "supported format" in second["error"]
    assert len(third["faces"]) == 1
    alone = [
        client.post("/v1/analyze", content=data, headers={"Content-Type": "image/png"}).json() for data in (photo, CROP)
    ]
    for together, one in zip((first, third), alone):  # classified together, answered as one by one
        [a], [b] = together["faces"], one["faces"]
        assert (a["box"], a["label"]) == (b["box"], b["label"])
        assert a["scores"] == pytest.approx(b["scores"], abs=1e-5)
    broken = client.post("/v1/analyze/batch", files=[("file", ("b.bin", b"no")), ("file", ("e.png", b""))]).json()
    assert [image["status"] for image in broken["images"]] == [415, 400]  # no face to classify at all
    assert client.post("/v1/analyze/batch", content=photo, headers={"Content-Type": "image/jpeg"}).status_code == 415


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [
        (b"", "image/png", 400, "empty body"),
        (b"GIF89a\x00\x00\x00\x00", "image/gif", 400, "header declares an empty image"),
        (b"just some text", "image/png", 415, "supported format"),
        (CROP[: len(CROP) // 2], "image/png", 400, "truncated or corrupt"),
        (encode(np.zeros((300, 300, 3), np.uint8), ".jpg")[:400], "image/jpeg", 400, "truncated or corrupt"),
        (png_declaring(100_000, 100_000), "image/png", 413, "over this server's limit of 5,000,000"),
        (b"\xff" * 600_000, "image/png", 413, "body of 600,000 bytes"),
        (CROP, "text/plain", 415, "unsupported Content-Type"),
    ],
)
def test_bad_bodies_are_4xx_with_a_reason(client, body, content_type, status, words):
    answer = client.post("/v1/analyze", content=body, headers={"Content-Type": content_type})
    assert answer.status_code == status and words in answer.json()["error"]


def test_bad_forms_queries_methods_and_paths(client):
    no_file = client.post("/v1/analyze", files={"image": ("a.png", CROP)})
    assert no_file.status_code == 400 and "no field 'file'" in no_file.json()["error"]
    text_field = client.post("/v1/analyze", data={"file": "hello"}, files={"other": ("a.png", CROP)})
    assert text_field.status_code == 400 and "must be a file" in text_field.json()["error"]
    broken = client.post("/v1/analyze", content=b"--x\r\nnonsense", headers={"Content-Type": "multipart/form-data"})
    assert broken.status_code == 400 and "multipart" in broken.json()["error"]
    two = client.post("/v1/analyze", files=[("file", ("a.png", CROP)), ("file", ("b.png", CROP))])
    assert two.status_code == 400 and "more than 1 image(s)" in two.json()["error"]
    many = client.post("/v1/analyze/batch", files=[("file", (f"{i}.png", CROP)) for i in range(65)])
    assert many.status_code == 400 and "more than 64 image(s)" in many.json()["error"]
    for query, words in [
        ("top_k=two", "not an integer"),
        ("top_k=0", "at least 1"),
        ("min_confidence=1.5", "[0, 1]"),
        ("detect_threshold=1", "(0, 1)"),
        ("no_detect=maybe", "true or false"),
        ("topk=2", "unknown query option(s) topk"),
    ]:
        answer = client.post(f"/v1/analyze?{query}", content=CROP, headers={"Content-Type": "image/png"})
        assert answer.status_code == 422 and words in answer.json()["error"], query
    assert client.get("/v1/analyze").status_code == 405 and client.get("/v1/analyze").json()["error"]
    assert client.delete("/healthz").status_code == 405
    assert client.get("/v2/analyze").status_code == 404 and client.get("/nowhere").json() == {"error": "Not Found"}


def test_a_service_that_waits_long_for_company_is_still_ready():
    from fer_runtime.serve.app import READY_TIMEOUT_S

    with TestClient(create_app(ServeSettings(threads=1, max_wait_ms=1000 * READY_TIMEOUT_S + 500))) as slow:
        assert slow.get("/readyz").json() == {"status": "ready", "model": "fer_default"}  # its lone probe waited


def test_health_model_metrics_and_schema(client):
    assert client.get("/healthz").json() == {"status": "alive"}
    assert client.get("/readyz").json() == {"status": "ready", "model": "fer_default"}
    model = client.get("/v1/model").json()
    recognizer = Recognizer()
    assert model["classes"] == recognizer.classes and model["file"] == recognizer.model_path.name
    assert model["sha256"] == sha256_file(recognizer.model_path)
    assert model["temperature"] == recognizer.description.temperature and model["input"]["shape"][1:] == [1, 48, 48]
    assert (model["prior"], model["tta"]) == (recognizer.prior, "none")
    client.post("/v1/analyze", content=CROP, headers={"Content-Type": "image/png"})
    text = client.get("/metrics").text
    assert 'fer_requests_total{route="/v1/analyze",status="200"}' in text
    assert 'fer_request_seconds_bucket{route="/v1/analyze",le="+Inf"}' in text
    assert "fer_batch_faces_count" in text and "fer_waiting_faces 0" in text
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]) == {"/v1/analyze", "/v1/analyze/batch", "/v1/model", "/healthz", "/readyz", "/metrics"}
    assert schema["components"]["schemas"]["Face"]["properties"]["label"]["enum"][-1] == "uncertain"


def test_bearer_token_and_cors(monkeypatch):
    monkeypatch.setenv("FER_SERVE_TOKEN", "s3cret")
    with TestClient(create_app(ServeSettings(threads=1, cors_origins=("https://app.example",)))) as client:
        refused = client.post("/v1/analyze", content=CROP, headers={"Content-Type": "image/png"})
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
        wrong = client.get("/v1/model", headers={"Authorization": "Bearer guess"})
        assert wrong.status_code == 401 and client.get("/metrics").status_code == 401
        headers = {"Content-Type": "image/png", "Authorization": "Bearer s3cret", "Origin": "https://app.example"}
        answer = client.post("/v1/analyze", content=CROP, headers=headers)
        assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "https://app.example"
        assert client.get("/healthz").status_code == 200  # probes stay open
        assert "security" in client.get("/openapi.json").json()["paths"]["/v1/analyze"]["post"]
    monkeypatch.delenv("FER_SERVE_TOKEN")
    with TestClient(create_app(ServeSettings(threads=1))) as client:
        answer = client.post(
            "/v1/analyze", content=CROP, headers={"Content-Type": "image/png", "Origin": "https://x.example"}
        )
        assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers


def test_slow_requests_answer_504(photo):
    with TestClient(create_app(ServeSettings(threads=1, timeout_s=0.001))) as client:
        answer = client.post("/v1/analyze", content=photo, headers={"Content-Type": "image/jpeg"})
        assert answer.status_code == 504 and "no answer within" in answer.json()["error"]
        assert client.get("/healthz").status_code == 200


def test_a_bad_setting_or_model_fails_before_serving(tmp_path):
    with pytest.raises(FerError, match="max_batch=0"):
        ServeSettings(max_batch=0)
    (tmp_path / "broken.onnx").write_bytes(b"not a graph")
    with pytest.raises(FerError, match="not a loadable ONNX model"):
        create_app(ServeSettings(model=str(tmp_path / "broken.onnx")))


def test_settings_reach_each_worker_and_the_provider_reaches_the_model(monkeypatch):
    sent = ServeSettings(providers=("cpu",), cors_origins=("https://app.example",), threads=1)
    monkeypatch.setenv(settings.SETTINGS_VARIABLE, sent.to_json())  # as `fer-serve --workers N` hands them on
    assert ServeSettings.from_environment() == sent
    app = create_app(sent)
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
    options = app.state.service.recognizer.session.get_session_options()  # the cores left to the event loop
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    with pytest.raises(FerError, match="no-such-provider not available"):
        create_app(ServeSettings(providers=("no-such-provider",)))


def test_the_models_threads_follow_a_containers_cpu_limit(tmp_path, monkeypatch):
    def quota(*contents: str) -> tuple[tuple[str, ...], ...]:
        paths = []
        for n, text in enumerate(contents):
            (tmp_path / str(n)).write_text(text)
            paths.append(str(tmp_path / str(n)))
        return (("/nonexistent/cpu.max",), tuple(paths))  # v2 missing: v1's two files are read

    assert settings.cpu_quota(quota("150000\n", "100000\n")) == 1.5
    assert settings.cpu_quota(quota("-1\n", "100000\n")) is None  # v1 unlimited
    assert settings.cpu_quota(quota("max 100000\n")) is None  # v2 unlimited
    assert settings.cpu_quota((("/nonexistent/cpu.max",),)) is None
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(16)))
    monkeypatch.setattr(settings, "cpu_quota", lambda: 2.5)  # `docker run --cpus 2.5` on a 16-core host
    assert settings.usable_cores() == 3 and ServeSettings().model_threads() == 3
    monkeypatch.setattr(settings, "cpu_quota", lambda: None)
    assert ServeSettings().model_threads() == 16 and ServeSettings(threads=4).model_threads() == 4


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".gif", ".bmp", ".webp"])
def test_headers_declare_the_decoded_size(suffix):
    image = np.random.default_rng(1).integers(0, 255, (37, 91, 3), dtype=np.uint8)
    header = read_header(encode(image, suffix))
    assert (header.width, header.height) == (91, 37) and header.format in suffix.replace("jpg", "jpeg")
