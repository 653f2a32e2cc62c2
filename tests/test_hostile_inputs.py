"""Degenerate shapes, unusual encodings and fuzzed bytes through every Python entry point where an image comes
in: `Recognizer`, `fer-run` (files and folders), the service and the Ray engine's actors. Each gives a result or
a one-line error, never a traceback or a 5xx. (The web pipeline gets the same strips in its parity cases.)"""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.measure_fuzz import folder_run
from benchmarks.mutate import MUTATIONS, corpus, mutate, seed_files
from fer_runtime import Recognizer
from fer_runtime.cli import main
from fer_runtime.errors import FerError
from fer_runtime.images import label_paths
from fer_runtime.preprocess import decode_image
from tests.degenerate import degenerate_images, unusual_files

pytest.importorskip("starlette", reason='fer-serve needs the serve extra: pip install "fer_runtime[serve]"')
from starlette.testclient import TestClient  # noqa: E402

from fer_runtime.serve import ServeSettings, create_app  # noqa: E402
from fer_runtime.serve.errors import RequestError  # noqa: E402
from fer_runtime.serve.uploads import decode_upload  # noqa: E402

CORPUS_FILES = 300  # mutated files per corpus test (the benchmark runs 10,000)
FUZZ = settings(
    max_examples=60, derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer(threads=1)


@pytest.fixture(scope="module")
def face_photo(shared_data: Path) -> np.ndarray:
    return decode_image((shared_data / "photos" / "justin.jpg").read_bytes())


@pytest.fixture(scope="module")
def seeds(shared_data: Path) -> list[bytes]:
    return seed_files(shared_data / "photos")


@pytest.fixture(scope="module")
def client():
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)  # a 5xx would still fail the test
    with TestClient(create_app(ServeSettings(threads=1)), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def odd_folder(face_photo: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every unusual file and every degenerate image (as PNG) in one folder."""
    folder = tmp_path_factory.mktemp("odd")
    for name, data in unusual_files(face_photo):
        (folder / name).write_bytes(data)
    for name, image in degenerate_images(face_photo):
        assert cv2.imwrite(str(folder / f"{name}.png"), image)
    return folder


def test_degenerate_shapes_give_faces_or_none(recognizer: Recognizer, face_photo: np.ndarray) -> None:
    found = {name: recognizer.analyze(image) for name, image in degenerate_images(face_photo)}
    assert [face.label for face in found["face-in-a-wide-strip"]] == ["happy"]  # padded up to YuNet's smallest input
    for name in ("strip-1x20000", "strip-20000x2", "strip-3x5000", "strip-12x2000", "strip-100x30000"):
        assert found[name] == [], name  # no face, and no face made of an infinite box
    assert [face.label for face in found["strip-1x1"]] == ["uncertain"]  # a crop too small to hold a face
    probabilities = recognizer.classify([image for _, image in degenerate_images(face_photo)])
    assert np.allclose(probabilities.sum(1), 1)


def test_unusual_encodings_decode_to_the_same_face(recognizer: Recognizer, face_photo: np.ndarray) -> None:
    files = dict(unusual_files(face_photo))
    with pytest.raises(FerError, match="empty file"):
        decode_image(files.pop("empty.png"), "empty.png")
    for name, data in files.items():
        image = decode_image(data, name)
        faces = recognizer.analyze(image)
        if name.startswith("strip"):
            assert image.shape[:2] == (3000, 1) and faces == [], name  # EXIF turned the 1x3000 strip upright
        else:
            assert [f.label for f in faces] == ["happy"], name  # 16-bit, palette, CMYK, first animated frame


def test_fer_run_reports_each_bad_file_in_one_line(odd_folder: Path, tmp_path: Path) -> None:
    out, count = tmp_path / "odd.jsonl", len(list(odd_folder.iterdir()))
    result = CliRunner().invoke(main, ["--threads", "1", str(odd_folder), "--output", str(out)], catch_exceptions=False)
    assert result.exit_code == 1  # one input could not be read
    assert [line for line in result.output.splitlines() if line.startswith("Error:")] == [
        f"Error: {odd_folder / 'empty.png'}: empty file",
        f"Error: 1 of {count} inputs could not be processed",
    ]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == count - 1 and all(isinstance(r["faces"], list) for r in records)


def test_service_answers_odd_uploads_with_200_or_a_4xx(client: TestClient, odd_folder: Path) -> None:
    for path in sorted(odd_folder.iterdir()):
        answer = client.post("/v1/analyze", content=path.read_bytes(), headers={"Content-Type": "image/png"})
        assert answer.status_code == (400 if path.name == "empty.png" else 200), (path.name, answer.text)


def test_ray_actors_label_odd_files(recognizer: Recognizer, odd_folder: Path) -> None:
    outcomes = label_paths(recognizer, sorted(odd_folder.iterdir()))  # what each Ray actor runs on its files
    assert [o.path.name for o in outcomes if o.error] == ["empty.png"]
    assert sum(o.record is not None for o in outcomes) == len(outcomes) - 1


@FUZZ
@given(data=st.binary(max_size=2048))
def test_any_bytes_are_an_image_or_a_4xx(data: bytes) -> None:
    try:
        decode_upload(data, max_pixels=4_000_000)
    except RequestError as exc:
        assert 400 <= exc.status < 500


@FUZZ
@given(height=st.integers(1, 4000), width=st.integers(1, 4000), channels=st.sampled_from([1, 3, 4]))
def test_any_shape_is_analysed(recognizer: Recognizer, height: int, width: int, channels: int) -> None:
    shape = (height, width) if channels == 1 else (height, width, channels)
    image = np.random.default_rng(height * width).integers(0, 256, shape, dtype=np.uint8)
    for face in recognizer.analyze(image):
        x, y, w, h = face.box
        assert w > 0 and h > 0 and x < width and y < height and x + w > 0 and y + h > 0


@FUZZ
@given(seed=st.integers(0, 2**32 - 1))
def test_mutated_photos_are_analysed_or_refused(recognizer: Recognizer, seeds: list[bytes], seed: int) -> None:
    kind, data = mutate(random.Random(seed).choice(seeds), random.Random(seed))
    assert kind in MUTATIONS
    try:
        image = decode_upload(data, max_pixels=4_000_000)
    except RequestError as exc:
        assert 400 <= exc.status < 500
        return
    assert isinstance(recognizer.analyze(image), list)


def test_a_mutated_corpus_through_fer_run_and_the_service(
    client: TestClient, seeds: list[bytes], tmp_path: Path
) -> None:
    """The mutated corpus (seeded) as files for a real fer-run process and as uploads to the service."""
    files = list(corpus(seeds, CORPUS_FILES, seed=0))
    run = folder_run(files, tmp_path / "corpus")  # the benchmark's run, smaller
    assert run.exit_status in (0, 1) and run.tracebacks == 0, run
    assert run.answered == CORPUS_FILES
    statuses = [
        client.post("/v1/analyze", content=data, headers={"Content-Type": "image/jpeg"}).status_code
        for _, data in files
    ]
    assert max(statuses) < 500 and statuses.count(200) == run.records


def test_a_video_cut_mid_file_keeps_every_row_and_says_so_in_one_line(shared_data: Path, tmp_path: Path) -> None:
    capture = cv2.VideoCapture(str(shared_data / "photos" / "test.mp4"))
    frames = [capture.read()[1] for _ in range(40)]
    capture.release()
    clip = tmp_path / "clip.avi"  # MJPG in AVI: frames readable up to the cut (an MP4's index is at its end)
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"MJPG"), 10, frames[0].shape[1::-1])
    for frame in frames:
        writer.write(frame)
    writer.release()
    data = clip.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    out = tmp_path / "frames.csv"
    result = CliRunner().invoke(
        main, ["--threads", "1", "--video", str(cut), "--output", str(out)], catch_exceptions=False
    )
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert result.exit_code == 1 and len(errors) == 1 and "of the 40 frames it declares" in errors[0]
    read = int(errors[0].split("ended after ")[1].split()[0])
    rows = out.read_text().splitlines()[1:]
    assert 0 < read < 40 and len({row.split(",")[0] for row in rows}) == read  # a row (or more) per frame read
