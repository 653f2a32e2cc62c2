"""The robustness benchmark on whole photos (the shared photos and frames of the shared videos) through the
runtime's whole pipeline, YuNet and the aligned crop included: each shift of `fer_train.shifts` applied to the
photo at the scale of its largest face (a blur of sigma 1 in a 48-pixel crop is sigma side/48 in the photo),
so detection under the shift is measured too: the share of the clean faces found again (IoU >= 0.5), and of
those, the share whose top-1 answer changed."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from benchmarks.robustness_runs import PhotoRobustness, PhotoShift
from fer_runtime.inputs import read_image
from fer_runtime.recognizer import Face, Recognizer
from fer_runtime.track import overlap
from fer_train.shifts import EYE_ROW, MOUTH_ROW, SEVERITIES, SHIFTS, Shift

FRAMES_PER_VIDEO = 15
MIN_IOU = 0.5
CROP_SIDE = 48  # the side the shifts' severities are given for


def photos(folder: Path) -> list[np.ndarray]:
    """The folder's still photos and FRAMES_PER_VIDEO frames spread over each of its videos."""
    images = [read_image(p) for p in sorted(folder.glob("*.jpg")) + sorted(folder.glob("*.png"))]
    for video in sorted(folder.glob("*.mp4")):
        capture = cv2.VideoCapture(str(video))
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        for index in np.linspace(0, count - 1, FRAMES_PER_VIDEO).astype(int):
            capture.set(cv2.CAP_PROP_POS_FRAMES, int(index))
            ok, frame = capture.read()
            if ok:
                images.append(frame)
        capture.release()
    return images


def _band(photo: np.ndarray, face: Face, row: float, height: float, value: int) -> np.ndarray:
    """A band across the face box at `row` of its height (from the landmarks when there are any)."""
    x, y, w, h = face.box
    if face.landmarks is not None:
        eyes, mouth = (
            (face.landmarks[0][1] + face.landmarks[1][1]) / 2,
            (face.landmarks[3][1] + face.landmarks[4][1]) / 2,
        )
        centre = eyes if row == EYE_ROW else mouth
    else:
        centre = y + row * h
    covered = photo.copy()
    top, size = int(round(centre - height * w / 2)), max(1, int(round(height * w)))
    covered[max(0, top) : top + size, max(0, x) : x + w] = value
    return covered


def photo_shifted(photo: np.ndarray, face: Face, shift: Shift, value: float, seed: int = 0) -> np.ndarray:
    """`photo` under `shift` at severity `value`, scaled from a 48-pixel crop to `face`'s side."""
    side = max(1, min(face.box[2], face.box[3]))
    scale = side / CROP_SIDE
    name = shift.name
    if name == "blur":
        return cv2.GaussianBlur(photo, (0, 0), value * scale)
    if name == "jpeg":
        encoded = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, int(value)])[1]
        return np.asarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR))
    if name == "low_resolution":
        h, w = photo.shape[:2]
        factor = min(1.0, value / side)
        small = cv2.resize(photo, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if name == "rotation":
        x, y, w, h = face.box
        matrix = cv2.getRotationMatrix2D((x + w / 2, y + h / 2), value, 1.0)
        return cv2.warpAffine(photo, matrix, photo.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)
    if name in ("eyes_covered", "mouth_covered"):
        return _band(
            photo, face, EYE_ROW if name == "eyes_covered" else MOUTH_ROW, value, 0 if name == "eyes_covered" else 200
        )
    if name == "flip":
        return np.ascontiguousarray(photo[:, ::-1])
    planes = np.moveaxis(photo, -1, 0)  # noise, dark, low contrast: each colour plane as a gray image
    return np.ascontiguousarray(np.moveaxis(shift.apply(planes, value, np.random.default_rng(seed)), 0, -1))


def _mirrored(face: Face, width: int) -> Face:
    x, y, w, h = face.box
    return Face(box=(width - x - w, y, w, h), label=face.label, scores=face.scores)


def photo_robustness(recognizer: Recognizer, images: list[np.ndarray]) -> PhotoRobustness:
    """Per shift (all but the detector's box, which the detector itself makes) and severity: faces found again,
    and answers changed among them, over every clean face of `images`."""
    clean = [recognizer.analyze(image) for image in images]
    scored = [(image, faces) for image, faces in zip(images, clean) if faces]
    total = sum(len(f) for _, f in scored)
    shifts: dict[str, dict[str, PhotoShift]] = {}
    for shift in (s for s in SHIFTS if s.name != "box"):
        shifts[shift.name] = {}
        for severity in SEVERITIES if shift.moderate != shift.strong else SEVERITIES[:1]:
            found = changed = 0
            for image, faces in scored:
                again = recognizer.analyze(photo_shifted(image, faces[0], shift, getattr(shift, severity)))
                if shift.name == "flip":
                    faces = [_mirrored(f, image.shape[1]) for f in faces]
                for face in faces:
                    match = max(again, key=lambda f: overlap(f.box, face.box), default=None)
                    if match is not None and overlap(match.box, face.box) >= MIN_IOU:
                        found += 1
                        changed += match.label != face.label
            shifts[shift.name][severity] = PhotoShift(found=found / total, changed=changed / max(found, 1))
    return PhotoRobustness(photos=len(images), faces=total, shifts=shifts)
