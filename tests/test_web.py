"""The web page (`web/`) held to the Python runtime: its JavaScript pipeline in Node on Test_250 crops and
photos, the built page in headless Chromium on photos, its type check, and the assets it reads from the
Python side. Node, web/node_modules and Chromium are required in CI (`.ci/run` installs them) and the tests
are skipped elsewhere when they are missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import cv2
import pytest

from fer_runtime.defaults import PRIORS
from fer_runtime.detect import bundled_yunet_path
from fer_runtime.preprocess import decode_image
from fer_runtime.recognizer import Recognizer
from fer_runtime.results import image_record
from fer_runtime.track import overlap
from fer_train.web_assets import RUNTIME_FILE, YUNET_WEB_FILE, dynamic_yunet, runtime_defaults, yunet_licences
from harness.web_page import WEB, build_page, missing_tools, page_result, page_server
from tests.degenerate import degenerate_images
from tests.exif import with_exif_orientation
from tests.web_cases import write_parity_cases, write_timeline_case, write_y4m

PROBABILITY_TOLERANCE = 0.02
MIN_IOU = 0.9
WEBCAM_SHARE_TOLERANCE = 0.1  # the page samples the looping camera; the Node test holds the rules to 1 point


@pytest.fixture(scope="module")
def web_tools() -> None:
    missing = missing_tools()
    if missing:
        message = f"the web page's tests need {', '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def test_web_assets_are_what_the_python_side_writes() -> None:
    assets = WEB / "assets"
    assert json.loads((assets / RUNTIME_FILE).read_text()) == runtime_defaults()
    assert (assets / YUNET_WEB_FILE).read_bytes() == dynamic_yunet(bundled_yunet_path()).SerializeToString()
    for licence in yunet_licences():
        assert (assets / f"yunet-{licence.name}").read_bytes() == licence.read_bytes()


def test_javascript_pipeline_matches_the_python_runtime(web_tools: None, shared_data: Path, tmp_path: Path) -> None:
    write_parity_cases(shared_data, tmp_path)
    assert write_timeline_case(shared_data, tmp_path)["people"]  # the clip's face, for the timeline's test
    done = subprocess.run(
        ["node", "--test", "test/"],
        cwd=WEB,
        env={**os.environ, "FER_WEB_FIXTURES": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(done.stdout)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "# pass 2" in done.stdout and "parity on 116 images" in done.stdout
    assert "timeline of" in done.stdout


def test_web_library_type_checks(web_tools: None) -> None:
    done = subprocess.run(["npm", "run", "--silent", "check"], cwd=WEB, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:]


PHOTO_CASES = (("justin.jpg", 1), ("sideways.jpg", 1), ("no-faces.jpg", 0), ("strip-1x20000.png", 0))


def _write_photo_cases(shared_data: Path, folder: Path) -> tuple[tuple[str, int], ...]:
    """The shared photos, one turned and shown upright by EXIF (as phones write them), and degenerate strips, in
    `folder`: (file name, faces expected)."""
    photos = shared_data / "photos"
    for name in ("justin.jpg", "no-faces.jpg"):
        shutil.copyfile(photos / name, folder / name)
    sideways = cv2.rotate(decode_image((photos / "justin.jpg").read_bytes()), cv2.ROTATE_90_COUNTERCLOCKWISE)
    jpeg = cv2.imencode(".jpg", sideways, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
    (folder / "sideways.jpg").write_bytes(with_exif_orientation(jpeg, 6))
    strips = dict(degenerate_images(decode_image((photos / "justin.jpg").read_bytes())))
    for name in ("strip-1x20000", "face-in-a-wide-strip"):
        cv2.imwrite(str(folder / f"{name}.png"), strips[name])
    return (*PHOTO_CASES, ("face-in-a-wide-strip.png", 1))


def _assert_same_faces(got: list[dict], expected: list[dict], faces: int, name: str) -> None:
    assert len(got) == len(expected) == faces, name
    for js_face, python_face in zip(got, expected):
        assert js_face["label"] == python_face["label"], name
        assert overlap(tuple(js_face["box"]), tuple(python_face["box"])) >= MIN_IOU, name
        for cls, value in python_face["scores"].items():
            assert abs(js_face["scores"][cls] - value) <= PROBABILITY_TOLERANCE, name


def test_page_in_headless_chromium_gives_fer_runs_answer(web_tools: None, shared_data: Path, tmp_path: Path) -> None:
    """Each photo as fer-run answers it; the page's prior menu lists the runtime's choices (the JavaScript
    pipeline under another prior is held to Python by the parity test)."""
    cases = _write_photo_cases(shared_data, tmp_path)
    recognizer = Recognizer(prefer_int8=False)  # the graph the page ships
    with page_server(build_page(), tmp_path) as base:
        for name, faces in cases:
            answer = page_result(f"{base}/index.html?image=/photos/{name}")
            assert answer["state"] == "done" and not answer["page_errors"], answer
            assert answer["priors"] == ["", *PRIORS]  # "": the model's default
            expected = image_record(name, recognizer.analyze(decode_image((tmp_path / name).read_bytes())))
            _assert_same_faces(answer["result"]["faces"], expected["faces"], faces, name)


def test_node_cli_prints_fer_runs_records(web_tools: None, shared_data: Path, tmp_path: Path) -> None:
    """web/bin/fer.mjs: the page's pipeline on onnxruntime-node, images decoded in Node (sharp), the int8 graph
    fer-run uses by default."""
    cases = _write_photo_cases(shared_data, tmp_path)
    paths = [str(tmp_path / name) for name, _ in cases]
    done = subprocess.run(["node", str(WEB / "bin" / "fer.mjs"), "--json", *paths], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    recognizer = Recognizer()
    for record, path, (name, faces) in zip(json.loads(done.stdout), paths, cases, strict=True):
        expected = image_record(path, recognizer.analyze(decode_image(Path(path).read_bytes())))
        assert record["file"] == path and set(record) == set(expected)
        _assert_same_faces(record["faces"], expected["faces"], faces, name)
    text = subprocess.run(["node", str(WEB / "bin" / "fer.mjs"), paths[0]], capture_output=True, text=True)
    assert text.stdout.splitlines()[0] == paths[0] and text.stdout.splitlines()[1].startswith("  face 0  box ")
    missing = subprocess.run(
        ["node", str(WEB / "bin" / "fer.mjs"), str(tmp_path / "absent.jpg")], capture_output=True, text=True
    )
    assert missing.returncode == 1 and missing.stderr.startswith(
        f"fer.mjs: {tmp_path / 'absent.jpg'}: not a readable image"
    )
    assert "Error:" not in missing.stderr and "    at " not in missing.stderr  # one line and the usage, no stack
    wrong = subprocess.run(
        ["node", str(WEB / "bin" / "fer.mjs"), "--tta", "sideways", paths[0]], capture_output=True, text=True
    )
    assert wrong.returncode == 1 and wrong.stderr.startswith('fer.mjs: unknown test-time augmentation "sideways"')


def test_page_reports_a_missing_image_as_an_error(web_tools: None, tmp_path: Path) -> None:
    with page_server(build_page(), tmp_path) as base:
        answer = page_result(f"{base}/index.html?image=/photos/absent.jpg")
    assert answer["state"] == "error" and "404" in answer["result"]


def test_page_webcam_mode_summarises_a_clip_played_as_the_camera(
    web_tools: None, shared_data: Path, tmp_path: Path
) -> None:
    """Chromium's fake camera plays the shared short clip (looping); the page's webcam mode runs 8 s, is stopped,
    and its summary has the clip's one person and first change where fer-run --summary has them. The page sees
    only the frames it has time for, so its shares are near Python's, not equal (the Node test holds equality)."""
    write_y4m(shared_data / "photos" / "test.mp4", tmp_path / "clip.y4m")
    python = write_timeline_case(shared_data, tmp_path)
    with page_server(build_page(), tmp_path) as base:
        answer = page_result(f"{base}/index.html", webcam=(tmp_path / "clip.y4m", 8))
    summary = answer["summary"]
    assert answer["state"] == "done" and not answer["page_errors"], answer
    assert summary["frames"] > 20 and summary["rules"] == python["rules"]
    [person], [expected] = summary["people"], python["people"]
    assert sum(person["shares"].values()) == pytest.approx(1)
    for label, share in expected["shares"].items():
        assert abs(person["shares"].get(label, 0) - share) <= WEBCAM_SHARE_TOLERANCE, (person["shares"], expected)
    first, want = person["changes"][0], expected["changes"][0]
    assert (first["from"], first["to"]) == (want["from"], want["to"]) and abs(first["time_s"] - want["time_s"]) < 0.5
