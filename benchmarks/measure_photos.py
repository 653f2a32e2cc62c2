"""Face finding on photos, each detector side by side: recall and false positives against the known
positions of pasted faces, the per-photo time split, whether aligned crops help, and video frames/s."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.photo_runs import Alignment, DetectorRun, TiltRow, VideoRate
from fer_runtime.align import aligned_crop
from fer_runtime.detect import Box, Detection, FaceDetector, YuNetDetector, create_detector, crop_with_margin
from fer_runtime.inputs import read_image
from fer_runtime.preprocess import decode_image
from fer_runtime.recognizer import Recognizer
from fer_runtime.recognizer_settings import RecognizerSettings
from fer_runtime.track import FaceTracker
from fer_runtime.video import frames, open_capture
from fer_train.landmark_template import measure_template
from fer_train.metrics import compute_metrics

ANGLES = (0, -15, 15, -30, 30)  # in-plane tilts of the pasted faces, degrees
VIDEO_SIZE = (640, 480)
VIDEO_SETTINGS = {  # detectors (and detection sizes) timed on video
    "yunet": RecognizerSettings(detector="yunet"),
    "yunet at 320 px": RecognizerSettings(detector="yunet", detect_size=320),
    "haar": RecognizerSettings(detector="haar"),
}


@dataclass(frozen=True)
class PastedPhoto:
    data: bytes  # encoded JPEG
    boxes: list[Box]  # where each pasted face's square lies
    faces: list[int]  # which test face
    angles: list[int]


def pasted_photos(faces: np.ndarray, count: int, background: np.ndarray | None = None) -> list[PastedPhoto]:
    """640x480 scenes (a blurred texture, or `background` for every other photo) with one or two test
    faces enlarged to 100-220 pixels and tilted by `ANGLES` in turn."""
    rng = np.random.default_rng(0)
    photos = []
    for i in range(count):
        if background is not None and i % 2:
            scene = cv2.resize(background, (640, 480), interpolation=cv2.INTER_LINEAR)
        else:
            scene = cv2.cvtColor(
                cv2.GaussianBlur(rng.integers(60, 200, (480, 640), dtype=np.uint8), (0, 0), 6), cv2.COLOR_GRAY2BGR
            )
        boxes, picks, angles = [], [], []
        for j in range(1 + i % 2):
            side = int(rng.integers(100, 220))
            pick, angle = (2 * i + j) % len(faces), ANGLES[(2 * i + j) % len(ANGLES)]
            face = cv2.cvtColor(
                cv2.resize(faces[pick], (side, side), interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2BGR
            )
            x, y = 30 + j * 320 + int(rng.integers(0, 60)), int(rng.integers(30, 480 - side - 30))
            turn = cv2.getRotationMatrix2D((side / 2, side / 2), angle, 1.0)
            turn[:, 2] += (x, y)
            cv2.warpAffine(face, turn, (640, 480), dst=scene, borderMode=cv2.BORDER_TRANSPARENT)
            boxes.append((x, y, side, side))
            picks.append(pick)
            angles.append(angle)
        ok, encoded = cv2.imencode(".jpg", scene)
        photos.append(PastedPhoto(encoded.tobytes(), boxes, picks, angles))
    return photos


def _matches(truth: Box, found: Box) -> bool:
    """A detection finds a pasted face when its centre lies in the face's square and its size is 0.3-1.5x."""
    cx, cy = found[0] + found[2] / 2, found[1] + found[3] / 2
    inside = truth[0] <= cx <= truth[0] + truth[2] and truth[1] <= cy <= truth[1] + truth[3]
    return inside and 0.3 <= found[2] / truth[2] <= 1.5


def _assign(truths: list[Box], found: list[Detection]) -> dict[int, Detection]:
    """Each pasted face → at most one detection (the largest that matches); the rest are false positives."""
    pairs: dict[int, Detection] = {}
    for detection in found:  # largest first
        for t, truth in enumerate(truths):
            if t not in pairs and _matches(truth, detection.box):
                pairs[t] = detection
                break
    return pairs


def detector_run(detector: FaceDetector, recognizer: Recognizer, photos: list[PastedPhoto]) -> DetectorRun:
    """Recall, false positives and per-photo milliseconds (decode, detect, crop, infer; medians)."""
    stages: dict[str, list[float]] = {"decode": [], "detect": [], "crop": [], "infer": []}
    found_faces = false_positives = 0
    for photo in photos:
        t0 = time.perf_counter()
        image = decode_image(photo.data)
        t1 = time.perf_counter()
        found = detector.detect(image)
        t2 = time.perf_counter()
        crops = [recognizer.crop(image, d) for d in found]
        t3 = time.perf_counter()
        if crops:
            recognizer.classify(crops)
        t4 = time.perf_counter()
        matched = _assign(photo.boxes, found)
        found_faces += len(matched)
        false_positives += len(found) - len(matched)
        for key, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            stages[key].append(seconds * 1e3)
    medians = {key: float(np.median(ms)) for key, ms in stages.items()}
    mean_total = float(np.mean(np.sum([stages[k] for k in stages], axis=0)))
    return DetectorRun(
        detector=detector.name,
        photos=len(photos),
        faces_pasted=sum(len(p.boxes) for p in photos),
        faces_found=found_faces,
        false_positives=false_positives,
        decode_ms=medians["decode"],
        detect_ms=medians["detect"],
        crop_ms=medians["crop"],
        infer_ms=medians["infer"],
        photos_per_s=1e3 / mean_total,
    )


def real_photos(detectors: list[FaceDetector], folder: Path) -> dict[str, dict[str, int]]:
    """Faces each detector reports on the two real photos: justin.jpg (one face) and no-faces.jpg (none)."""
    images = {name: read_image(folder / name) for name in ("justin.jpg", "no-faces.jpg")}
    return {d.name: {name: len(d.detect(image)) for name, image in images.items()} for d in detectors}


def alignment_effect(
    recognizer: Recognizer, photos: list[PastedPhoto], faces: np.ndarray, labels: np.ndarray
) -> Alignment:
    """Pasted faces that YuNet found, classified from a box-and-margin crop and from an aligned crop: how
    often each agrees with the model's answer on the untouched test face, and balanced accuracy on the
    labels, per tilt. The template is the model's own, or measured here on the test faces."""
    spec = recognizer.spec
    detector = YuNetDetector()
    template = spec.landmark_template or measure_template(faces, detector)[0]
    reference = recognizer.classify(faces).argmax(1)
    rows: dict[str, list[Any]] = {"angle": [], "face": [], "box": [], "aligned": []}
    for photo in photos:
        image = decode_image(photo.data)
        for t, detection in _assign(photo.boxes, detector.detect(image)).items():
            if detection.landmarks is None:
                continue
            box = crop_with_margin(image, detection.box, spec.face_margin)
            aligned = aligned_crop(image, detection.landmarks, template, spec.height, spec.width)
            box_p, aligned_p = recognizer.classify([box, aligned]).argmax(1)
            for key, value in zip(rows, (abs(photo.angles[t]), photo.faces[t], box_p, aligned_p)):
                rows[key].append(value)
    table = {k: np.asarray(v) for k, v in rows.items()}
    by_angle = {
        str(angle): _tilt_row(table, table["angle"] == angle, reference, labels, spec.classes)
        for angle in sorted(set(table["angle"].tolist()))
    }
    return Alignment(template=list(template), faces=len(table["face"]), by_angle=by_angle)


def _tilt_row(
    table: dict[str, np.ndarray], pick: np.ndarray, reference: np.ndarray, labels: np.ndarray, classes: tuple[str, ...]
) -> TiltRow:
    """The faces `pick` of `table`: each crop's agreement with `reference` (the answers on the untouched faces) and
    its balanced accuracy on `labels`."""
    faces = table["face"][pick]

    def agreement(crop: str) -> float:
        return float((table[crop][pick] == reference[faces]).mean())

    def balanced(crop: str) -> float:
        return _balanced(labels[faces], table[crop][pick], classes)

    return TiltRow(
        faces=int(pick.sum()),
        box_agreement=agreement("box"),
        box_balanced_accuracy=balanced("box"),
        aligned_agreement=agreement("aligned"),
        aligned_balanced_accuracy=balanced("aligned"),
    )


def _balanced(labels: np.ndarray, predictions: np.ndarray, classes: tuple[str, ...]) -> float:
    return compute_metrics(labels, predictions, classes).balanced_accuracy


def video_rate(recognizer: Recognizer, video: Path, max_frames: int) -> VideoRate:
    """Frames/s of detect + classify + track on a video resized to 640x480, and the tracks it made."""
    capture = open_capture(str(video))
    try:
        clip = [cv2.resize(f, VIDEO_SIZE, interpolation=cv2.INTER_AREA) for f in frames(capture, max_frames)]
    finally:
        capture.release()
    tracker = FaceTracker()
    tracks: set[int] = set()
    started = time.perf_counter()
    for frame in clip:
        for face in tracker.update(recognizer.analyze(frame), recognizer.classes, recognizer.label):
            tracks.add(face.track if face.track is not None else -1)
    seconds = time.perf_counter() - started
    return VideoRate(video=video.name, frames=len(clip), frames_per_s=len(clip) / seconds, tracks=len(tracks))


def photo_benchmark(
    model: Path | None,
    test: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    photos_dir: Path,
    count: int,
    video_frames: int,
    threads: int = 2,
) -> dict[str, Any]:
    """Everything above for each detector, in one run: detection on `count` photos of `test` faces; the
    crop policy on photos of `val` faces (so choosing it never looks at the test split)."""
    background = read_image(photos_dir / "no-faces.jpg")
    detectors = [create_detector("yunet"), create_detector("haar")]
    recognizer = Recognizer(model, threads=threads)
    photos = pasted_photos(test[0], count, background)
    val_photos = pasted_photos(val[0], 5 * count, background)
    return {
        "detectors": [detector_run(d, recognizer, photos).to_json() for d in detectors],
        "real_photos": real_photos(detectors, photos_dir),
        "alignment": alignment_effect(recognizer, val_photos, *val).to_json(),
        "video": {
            name: [
                video_rate(
                    Recognizer.from_settings(replace(settings, model=recognizer.settings.model, threads=threads)),
                    photos_dir / clip,
                    video_frames,
                ).to_json()
                for clip in ("test.mp4", "woman2.mp4")
            ]
            for name, settings in VIDEO_SETTINGS.items()
        },
    }
