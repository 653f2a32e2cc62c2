"""fer-run end to end: output modes, folders and globs, video, and bad input without tracebacks."""

import csv
import json
import subprocess
import sys
import time
import zipfile

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from fer_runtime import __version__
from fer_runtime.cli import main
from fer_runtime.video import FLUSH_FRAMES

GIF_1X1 = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,"
    b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def run(*args: str):
    return CliRunner().invoke(main, ["--threads", "1", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def crops(shared_data, tmp_path_factory):
    """Eight Test_100 crops (two per class) written as files."""
    folder = tmp_path_factory.mktemp("crops")
    with zipfile.ZipFile(shared_data / "seed" / "Test_100.zip") as archive:
        names = sorted(n for n in archive.namelist() if n.endswith(".jpg"))
        for name in names[::13][:8]:
            (folder / name.replace("/", "_")).write_bytes(archive.read(name))
    return folder


def test_one_image_table_json_and_top_k(crops):
    image = sorted(crops.iterdir())[0]
    table = run(str(image))
    assert table.exit_code == 0 and "box 0,0,48x48" in table.output
    result = run(str(image), "--json", "--top-k", "2")
    record = json.loads(result.output)
    assert record["file"] == str(image) and len(record["faces"]) == 1
    face = record["faces"][0]
    assert face["box"] == [0, 0, 48, 48] and len(face["scores"]) == 2
    assert face["label"] == max(face["scores"], key=face["scores"].get)


def test_folder_glob_outputs_and_annotation(crops, tmp_path):
    as_list = json.loads(run(str(crops), "--json").output)
    assert isinstance(as_list, list) and len(as_list) == 8
    assert len(json.loads(run(str(crops / "*.jpg"), "--json").output)) == 8

    result = run(str(crops), "--output", str(tmp_path / "out.csv"))
    assert result.exit_code == 0
    rows = list(csv.DictReader((tmp_path / "out.csv").open()))
    assert len(rows) == 8 and set(rows[0]) >= {"file", "label", "confidence", "angry", "sad"}
    run(str(crops), "--output", str(tmp_path / "out.jsonl"))
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert [json.loads(line)["file"] for line in lines] == [r["file"] for r in rows]

    image = sorted(crops.iterdir())[0]
    assert run(str(image), "--annotate", str(tmp_path / "a.png")).exit_code == 0
    assert cv2.imread(str(tmp_path / "a.png")).shape == (48, 48, 3)
    (tmp_path / "many").mkdir()
    assert run(str(crops), "--annotate", str(tmp_path / "many")).exit_code == 0
    assert len(list((tmp_path / "many").glob("*.png"))) == 8


def test_photo_with_detection_and_no_detect(crops, tmp_path):
    crop = cv2.imread(str(sorted(crops.iterdir())[0]), cv2.IMREAD_GRAYSCALE)
    photo = np.full((600, 800, 3), 120, np.uint8)
    photo[100:340, 200:440] = cv2.cvtColor(
        cv2.resize(crop, (240, 240), interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2BGR
    )
    cv2.imwrite(str(tmp_path / "photo.png"), photo)
    record = json.loads(run(str(tmp_path / "photo.png"), "--json").output)
    assert len(record["faces"]) >= 1
    whole = json.loads(run(str(tmp_path / "photo.png"), "--json", "--no-detect").output)
    assert whole["faces"][0]["box"] == [0, 0, 800, 600]


def test_video_per_frame_csv_and_annotated_video(crops, tmp_path):
    clip = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"mp4v"), 10, (48, 48))
    for path in sorted(crops.iterdir()):
        writer.write(cv2.imread(str(path)))
    writer.release()
    result = run("--video", str(clip), "--output", str(tmp_path / "frames.csv"))
    assert result.exit_code == 0 and "frame" in result.output
    rows = list(csv.DictReader((tmp_path / "frames.csv").open()))
    assert [int(r["frame"]) for r in rows] == list(range(8)) and all(r["label"] for r in rows)
    assert run("--video", str(clip), "--output", str(tmp_path / "annotated.avi")).exit_code == 0
    capture = cv2.VideoCapture(str(tmp_path / "annotated.avi"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 8
    bad = run("--video", str(tmp_path / "missing.mp4"))
    assert bad.exit_code == 1 and "missing.mp4" in bad.output


def _bad_inputs(folder):
    ok, png = cv2.imencode(".png", np.full((64, 64), 200, np.uint8))
    files = {
        "empty.png": b"",
        "truncated.jpg": png.tobytes()[:40],
        "text.jpg": b"hello, I am not an image",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [folder / name for name in files]


def test_bad_files_are_one_line_errors(tmp_path):
    for path in [*_bad_inputs(tmp_path), tmp_path / "missing.png"]:
        result = run(str(path))
        assert result.exit_code == 1, path
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and path.name in lines[0] and "Traceback" not in result.output


def test_the_provider_option(crops):
    face = str(sorted(crops.iterdir())[0])
    assert run(face, "--provider", "cpu", "--json").exit_code == 0
    result = run(face, "--provider", "no-such-provider")
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "no-such-provider not available" in result.output and "cpu" in result.output


def test_a_bad_file_among_good_ones_is_skipped(crops, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    for path in sorted(crops.iterdir())[:3]:
        (folder / path.name).write_bytes(path.read_bytes())
    _bad_inputs(folder)
    result = run(str(folder), "--output", str(tmp_path / "r.jsonl"))
    assert result.exit_code == 1 and "3 of 6 inputs" in result.output
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 3


@pytest.mark.parametrize(
    "kind, faces, label",
    [
        ("gif", 1, "uncertain"),
        ("1x1", 1, "uncertain"),  # too small to hold a face: not sure, whatever the scores
        ("16bit", 1, "class"),
        ("rgba", 1, "class"),  # crops of other depths and channels are classified
        ("huge", 0, None),  # 12 megapixels of noise: detection runs, finds nothing
    ],
)
def test_unusual_images_give_a_definite_result(tmp_path, kind, faces, label):
    path = tmp_path / f"{kind}.png"
    if kind == "gif":
        path = tmp_path / "tiny.gif"
        path.write_bytes(GIF_1X1)
    elif kind == "1x1":
        cv2.imwrite(str(path), np.zeros((1, 1), np.uint8))
    elif kind == "16bit":
        cv2.imwrite(str(path), np.full((48, 48), 40000, np.uint16))
    elif kind == "rgba":
        cv2.imwrite(str(path), np.full((48, 48, 4), 128, np.uint8))
    else:
        cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 255, (3000, 4000), dtype=np.uint8))
    result = run(str(path), "--json")
    assert result.exit_code == 0
    record = json.loads(result.output)
    assert record["file"] == str(path) and len(record["faces"]) == faces
    if faces:
        face = record["faces"][0]
        assert face["label"] == label if label == "uncertain" else face["label"] in ("angry", "happy", "neutral", "sad")
        assert face["confidence"] == max(face["scores"].values()) and len(face["scores"]) == 4


def test_uncertain_faces_in_every_output_and_never_at_p_zero(crops, tmp_path):
    never = json.loads(run(str(crops), "--json").output)
    assert all(f["label"] != "uncertain" for r in never for f in r["faces"])
    top = sorted(f["confidence"] for r in never for f in r["faces"])
    p = str((top[3] + top[4]) / 2)  # four of the eight faces fall under it
    as_json = json.loads(run(str(crops), "--json", "--min-confidence", p).output)
    unsure = [f for r in as_json for f in r["faces"] if f["label"] == "uncertain"]
    assert len(unsure) == 4 and all(f["confidence"] < float(p) and len(f["scores"]) == 4 for f in unsure)
    table = run(str(crops), "--min-confidence", p).output
    assert table.count("  uncertain ") == 4
    run(str(crops), "--min-confidence", p, "--output", str(tmp_path / "r.csv"))
    assert [r["label"] for r in csv.DictReader((tmp_path / "r.csv").open())].count("uncertain") == 4
    run(str(crops), "--min-confidence", p, "--output", str(tmp_path / "r.jsonl"))
    lines = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert sum(f["label"] == "uncertain" for r in lines for f in r["faces"]) == 4
    assert run(str(crops), "--min-confidence", "1", "--annotate", str(tmp_path / "drawn")).exit_code == 0
    assert len(list((tmp_path / "drawn").glob("*.png"))) == 8
    clip = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"mp4v"), 10, (48, 48))
    for path in sorted(crops.iterdir()):
        writer.write(cv2.imread(str(path)))
    writer.release()
    frames = run("--video", str(clip), "--min-confidence", "1", "--output", str(tmp_path / "frames.csv"))
    assert frames.output.count("  uncertain ") == 8
    assert {r["label"] for r in csv.DictReader((tmp_path / "frames.csv").open())} == {"uncertain"}


def test_model_option_version_and_usage(crops, tmp_path):
    not_onnx = tmp_path / "model.onnx"
    not_onnx.write_text("nope")
    result = run(str(sorted(crops.iterdir())[0]), "--model", str(not_onnx))
    assert result.exit_code == 1 and "model.onnx" in result.output and "Traceback" not in result.output
    assert __version__ in run("--version").output
    assert run().exit_code == 2
    assert run(str(sorted(crops.iterdir())[0]), "--output", str(tmp_path / "x.txt")).exit_code == 1
    both = run(str(sorted(crops.iterdir())[0]), "--fp32", "--model", "exported/fer_default.onnx")
    assert both.exit_code == 2 and "--fp32 picks the bundled model's float graph" in both.output


def test_a_killed_video_run_keeps_its_rows(shared_data, tmp_path):
    """The frames table is flushed as the video goes: kill -9 mid-run and the rows so far are on disk."""
    table = tmp_path / "frames.csv"
    command = [
        sys.executable,
        "-c",
        "from fer_runtime.cli import main; main()",
        "--video",
        str(shared_data / "photos" / "woman2.mp4"),
    ]
    process = subprocess.Popen([*command, "--output", str(table), "--threads", "1"], stdout=subprocess.DEVNULL)
    partial = tmp_path / "frames.csv.partial"
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if partial.is_file() and partial.read_text().count("\n") > 2 * FLUSH_FRAMES:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the video ended before it could be killed"
    process.kill()
    process.wait(10)
    rows = list(csv.DictReader(partial.open()))
    assert not table.exists() and len({row["frame"] for row in rows}) >= FLUSH_FRAMES
    assert all(row["label"] in ("angry", "happy", "neutral", "sad", "uncertain") for row in rows)
