"""fer_train.shifts: what cameras and detectors do to a face, as the robustness benchmark and training apply it."""

import cv2
import numpy as np
import pytest
import torch

from fer_train.augment import AugmentConfig, camera_faces
from fer_train.shifts import EYE_ROW, MOUTH_ROW, SEVERITIES, SHIFTS, random_shifts, shifted


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    """Smooth synthetic faces with detail at every scale: blur, JPEG and low resolution all change them."""
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:48, 0:48] / 47.0
    base = 128 + 60 * np.sin(6 * x) * np.cos(5 * y)
    return np.clip(base + rng.normal(0, 25, (6, 48, 48)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("shift", SHIFTS, ids=lambda s: s.name)
def test_each_shift_keeps_the_faces_shape_and_is_seeded(shift, faces):
    for severity in SEVERITIES:
        out = shifted(faces, shift, severity, seed=3)
        assert out.shape == faces.shape and out.dtype == np.uint8
        assert np.array_equal(out, shifted(faces, shift, severity, seed=3))
        assert not np.array_equal(out, faces), f"{shift.name} {severity} left the faces as they were"
    if shift.name not in ("eyes_covered", "mouth_covered", "flip"):  # a band covers a row; a mirror is a mirror
        untouched = shift.apply(faces, shift.none, np.random.default_rng(0))
        assert np.abs(untouched.astype(int) - faces).mean() < 1  # JPEG at quality 100 is all but lossless
    assert shifted(faces[:0], shift, "moderate").shape == (0, 48, 48)


@pytest.mark.parametrize("name", ["blur", "noise", "jpeg", "low_resolution", "rotation", "low_contrast"])
def test_the_strong_severity_changes_a_face_more_than_the_moderate(name, faces):
    shift = next(s for s in SHIFTS if s.name == name)
    change = {s: np.abs(shifted(faces, shift, s).astype(int) - faces).mean() for s in SEVERITIES}
    assert change["strong"] > change["moderate"] > 0


def test_what_each_shift_does(faces):
    by = {s.name: s for s in SHIFTS}
    assert shifted(faces, by["dark"], "moderate").mean() < faces.mean()
    assert shifted(faces, by["low_contrast"], "moderate").std() < 0.6 * faces.std()
    assert np.array_equal(shifted(faces, by["flip"], "moderate"), faces[:, :, ::-1])
    eyes, mouth = shifted(faces, by["eyes_covered"], "moderate"), shifted(faces, by["mouth_covered"], "moderate")
    assert (eyes[:, int(EYE_ROW * 48)] == 0).all() and (mouth[:, int(MOUTH_ROW * 48)] == 200).all()
    assert np.array_equal(eyes[:, 30:], faces[:, 30:]) and np.array_equal(mouth[:, :30], faces[:, :30])
    with pytest.raises(ValueError, match="severity"):
        shifted(faces, by["blur"], "mild")


def test_training_shifts_a_share_of_the_faces_reproducibly(faces):
    many = np.repeat(faces, 50, axis=0)
    out = random_shifts(many, 0.5, seed=7)
    changed = np.array([not np.array_equal(a, b) for a, b in zip(out, many)]).mean()
    assert 0.3 < changed <= 0.55  # about half drawn; a few at a strength near none
    assert np.array_equal(out, random_shifts(many, 0.5, seed=7))
    assert np.array_equal(random_shifts(many, 0.0, seed=7), many)
    config = AugmentConfig(camera_p=1.0)
    first = camera_faces(faces, config, torch.Generator().manual_seed(0))
    assert np.array_equal(first, camera_faces(faces, config, torch.Generator().manual_seed(0)))
    assert camera_faces(faces, AugmentConfig(), torch.Generator()) is faces  # off by default


def test_a_photo_is_shifted_at_the_scale_of_its_face():
    """benchmarks.photo_robustness: a blur of sigma 1 in a 48-pixel crop is sigma 2 on a 96-pixel face; a band
    covers the face box only; the mirror image is the photo's."""
    from benchmarks.photo_robustness import photo_shifted
    from fer_runtime.recognizer import Face

    rng = np.random.default_rng(0)
    photo = rng.integers(0, 255, (200, 300, 3), dtype=np.uint8)
    face = Face(box=(100, 50, 96, 96), label="happy")
    by = {s.name: s for s in SHIFTS}
    blurred = photo_shifted(photo, face, by["blur"], 1.0)
    assert np.array_equal(blurred, cv2.GaussianBlur(photo, (0, 0), 2.0))
    covered = photo_shifted(photo, face, by["eyes_covered"], 0.12)
    rows = np.flatnonzero((covered != photo).any(axis=(1, 2)))
    assert rows.min() >= 50 and rows.max() < 146 and (covered[:, :100] == photo[:, :100]).all()
    assert np.array_equal(photo_shifted(photo, face, by["flip"], 1.0), photo[:, ::-1])
    for shift in SHIFTS:
        assert photo_shifted(photo, face, shift, shift.moderate).shape == photo.shape
