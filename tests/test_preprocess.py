import cv2
import numpy as np
import pytest

from fer_runtime.errors import FerError
from fer_runtime.preprocess import decode_image, normalize, prepare_batch, resize, to_gray
from fer_runtime.spec import PreprocessSpec
from tests.exif import with_exif_orientation


def test_to_gray_accepts_gray_bgr_bgra_16bit_and_float():
    gray = np.full((5, 7), 100, np.uint8)
    bgr = np.dstack([gray] * 3)
    bgra = np.dstack([gray] * 3 + [np.full_like(gray, 255)])
    for image in (gray, gray[:, :, None], bgr, bgra):
        out = to_gray(image)
        assert out.dtype == np.uint8 and out.shape == (5, 7)
        assert np.all(out == 100)
    assert np.all(to_gray(gray.astype(np.uint16) * 257) == 100)
    assert np.all(to_gray(np.full((5, 7), 100 / 255, np.float32)) == 100)


def test_resize_and_normalize():
    image = np.arange(96 * 96, dtype=np.uint32).reshape(96, 96).astype(np.uint8)
    assert resize(image, 48, 40).shape == (48, 40)
    same = resize(image, 96, 96)
    assert same is not image and np.array_equal(same, image)
    values = normalize(np.array([[0, 255]], np.uint8), mean=0.5, std=0.25)
    assert values.dtype == np.float32
    assert values.tolist() == [[-2.0, 2.0]]


def test_prepare_batch_shape_and_values():
    spec = PreprocessSpec(mean=0.2, std=0.5)
    crops = [np.zeros((48, 48), np.uint8), np.full((100, 80, 3), 255, np.uint8)]
    batch = prepare_batch(crops, spec)
    assert batch.shape == (2, 1, 48, 48) and batch.dtype == np.float32
    assert np.allclose(batch[0], (0 - 0.2) / 0.5) and np.allclose(batch[1], (1 - 0.2) / 0.5)
    assert prepare_batch([], spec).shape == (0, 1, 48, 48)


def test_decode_image_round_trip_and_errors():
    image = np.random.default_rng(0).integers(0, 255, (10, 12), dtype=np.uint8)
    ok, encoded = cv2.imencode(".png", image)
    assert ok and np.array_equal(decode_image(encoded.tobytes()), image)
    with pytest.raises(FerError, match="empty"):
        decode_image(b"", "x.png")
    with pytest.raises(FerError, match="x.png: not a readable image"):
        decode_image(b"not an image at all", "x.png")


def test_decode_image_turns_photos_upright_as_exif_says():
    image = np.zeros((20, 40, 3), np.uint8)
    image[:, :20] = 255  # white left half
    jpeg = cv2.imencode(".jpg", image)[1].tobytes()
    assert decode_image(with_exif_orientation(jpeg, 1)).shape == (20, 40, 3)
    upright = decode_image(with_exif_orientation(jpeg, 6))  # stored sideways: turn 90° clockwise to show
    assert upright.shape == (40, 20, 3)
    assert upright[:20].mean() > 200 and upright[20:].mean() < 50  # the left half is now on top
    gray16 = np.full((6, 8), 40000, np.uint16)
    assert decode_image(cv2.imencode(".png", gray16)[1].tobytes()).dtype == np.uint16  # depth and gray kept
