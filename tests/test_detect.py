"""Face finding: YuNet with landmarks (default) and Haar, aligned crops, the landmark template, tracking."""

import csv
import json
import zipfile

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from fer_runtime.align import aligned_crop
from fer_runtime.cli import main
from fer_runtime.detect import LANDMARK_NAMES, YuNetDetector, create_detector
from fer_runtime.errors import FerError
from fer_runtime.preprocess import face_pixels
from fer_runtime.recognizer import Face, Recognizer
from fer_runtime.track import FaceTracker
from fer_train.landmark_template import measure_template


def run(*args: str):
    return CliRunner().invoke(main, ["--threads", "1", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def photos(shared_data):
    return shared_data / "photos"


def _inside(point, box) -> bool:
    x, y, w, h = box
    return x <= point[0] <= x + w and y <= point[1] <= y + h


def test_justin_has_one_face_with_landmarks_inside_its_box_and_no_faces_has_none(photos, tmp_path):
    result = run(str(photos / "justin.jpg"), "--json")
    assert result.exit_code == 0
    (face,) = json.loads(result.output)["faces"]
    assert list(face["landmarks"]) == list(LANDMARK_NAMES)
    assert all(_inside(p, face["box"]) for p in face["landmarks"].values())
    right_eye, left_eye = face["landmarks"]["right_eye"], face["landmarks"]["left_eye"]
    assert right_eye[0] < left_eye[0]  # the person's right eye is on the left of the picture
    assert 0.7 <= face["detection_score"] <= 1
    empty = run(str(photos / "no-faces.jpg"), "--json")
    assert empty.exit_code == 0 and json.loads(empty.output)["faces"] == []

    run(str(photos / "justin.jpg"), "--output", str(tmp_path / "r.csv"))
    (row,) = csv.DictReader((tmp_path / "r.csv").open())
    assert float(row["detection_score"]) == face["detection_score"]
    assert [float(row["nose_x"]), float(row["nose_y"])] == face["landmarks"]["nose"]
    assert run(str(photos / "justin.jpg"), "--annotate", str(tmp_path / "a.png")).exit_code == 0
    drawn, plain = cv2.imread(str(tmp_path / "a.png")), cv2.imread(str(photos / "justin.jpg"))
    nose = [int(round(v)) for v in face["landmarks"]["nose"]]
    assert np.abs(drawn[nose[1], nose[0]].astype(int) - plain[nose[1], nose[0]]).sum() > 60  # a dot is drawn


def test_haar_still_works_and_gives_no_landmarks(photos):
    result = run(str(photos / "justin.jpg"), "--json", "--detector", "haar")
    assert result.exit_code == 0
    (face,) = json.loads(result.output)["faces"]
    assert "landmarks" not in face and "detection_score" not in face


@pytest.mark.parametrize("kind", ["gray", "rgba", "16bit", "float"])
def test_photos_of_any_depth_and_channels_go_through_yunet(photos, kind):
    bgr = cv2.imread(str(photos / "justin.jpg"))
    image = {
        "gray": cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY),
        "rgba": cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA),
        "16bit": bgr.astype(np.uint16) * 257,
        "float": bgr.astype(np.float32) / 255,
    }[kind]
    (found,) = YuNetDetector().detect(image)
    assert found.landmarks is not None and found.score is not None and found.score > 0.7


def test_missing_or_damaged_detector_is_one_line_error(tmp_path):
    with pytest.raises(FerError, match="missing.onnx"):
        YuNetDetector(tmp_path / "missing.onnx")
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    with pytest.raises(FerError, match=r"bad\.onnx: not a readable YuNet"):
        YuNetDetector(tmp_path / "bad.onnx")
    with pytest.raises(FerError, match="unknown face detector"):
        create_detector("mtcnn")
    result = run(str(tmp_path / "x.jpg"), "--detector", "mtcnn")
    assert result.exit_code == 2 and "mtcnn" in result.output


def test_aligned_crop_puts_tilted_landmarks_on_the_template():
    template = (0.3, 0.4, 0.7, 0.4, 0.5, 0.6, 0.35, 0.75, 0.65, 0.75)
    frame = np.zeros((400, 400), np.uint8)
    target = np.array(template).reshape(-1, 2) * 100
    turn = cv2.getRotationMatrix2D((50, 50), 25, 1.5)
    turn[:, 2] += 120
    points = target @ turn[:, :2].T + turn[:, 2]  # the template, tilted by 25 degrees and enlarged 1.5x
    for x, y in points:
        cv2.circle(frame, (int(round(x)), int(round(y))), 3, 255, -1)
    crop = aligned_crop(frame, [tuple(p) for p in points], template, 48, 48)
    assert abs(crop.shape[0] - 150) <= 2 and crop.shape[0] == crop.shape[1]  # the face's own resolution
    for u, v in np.array(template).reshape(-1, 2):
        x, y = int(round(u * crop.shape[1])), int(round(v * crop.shape[0]))
        assert crop[y, x] > 200  # each dot lands where the template says
    with pytest.raises(FerError):
        aligned_crop(frame, [(1.0, 1.0)] * 5, template[:4], 48, 48)


def test_landmark_template_of_training_faces_has_level_eyes(shared_data):
    recognizer = Recognizer(threads=1)
    with zipfile.ZipFile(shared_data / "seed" / "Test_100.zip") as archive:
        names = sorted(n for n in archive.namelist() if n.endswith(".jpg"))[:40]
        faces = np.stack(
            [face_pixels(cv2.imdecode(np.frombuffer(archive.read(n), np.uint8), 0), recognizer.spec) for n in names]
        )
    template, found = measure_template(faces, YuNetDetector())
    assert found >= 35
    (rx, ry), (lx, ly), (nx, ny), (mrx, mry), (mlx, mly) = np.array(template).reshape(-1, 2)
    assert abs(ry - ly) < 0.03 and rx < nx < lx and ry < ny < mry and mrx < mlx


def test_tracks_keep_their_number_and_scores_are_smoothed():
    classes = ("angry", "happy")

    def face(x, p):
        return Face((x, 10, 50, 50), "?", {"angry": 1 - p, "happy": p})

    def label(box, scores):
        return classes[int(np.argmax(scores))]

    tracker = FaceTracker(smooth=0.5)
    first = tracker.update([face(0, 0.0), face(200, 1.0)], classes, label)
    second = tracker.update([face(205, 1.0), face(4, 1.0)], classes, label)  # order swapped, moved a little
    assert [f.track for f in first] == [0, 1] and [f.track for f in second] == [1, 0]
    assert second[1].scores == {"angry": 0.5, "happy": 0.5}  # 0.5 * past + 0.5 * now
    third = tracker.update([face(6, 1.0)], classes, label)
    assert third[0].scores["happy"] == 0.75 and third[0].label == "happy"
    new = tracker.update([face(600, 0.2)], classes, label)
    assert new[0].track == 2 and new[0].scores["happy"] == 0.2
    plain = FaceTracker(smooth=0).update([face(0, 0.3)], classes, label)
    assert plain[0].scores["happy"] == 0.3


def test_video_gives_stable_track_ids(photos, tmp_path):
    result = run("--video", str(photos / "woman2.mp4"), "--max-frames", "30", "--output", str(tmp_path / "v.jsonl"))
    assert result.exit_code == 0
    records = [json.loads(line) for line in (tmp_path / "v.jsonl").read_text().splitlines()]
    tracks = [f["track"] for r in records for f in r["faces"]]
    assert len(records) == 30 and len(tracks) >= 25 and set(tracks) == {0}
