import logging
import shutil

import numpy as np
import pytest
import torch

from fer_runtime.errors import FerError
from fer_runtime.spec import PreprocessSpec
from fer_train.data import epoch_order, image_counts, load_dataset, parse_classes, pixel_stats
from fer_train.data_root import ENV, existing, locate, record
from tests.conftest import CLASSES

SPEC = PreprocessSpec(classes=CLASSES)


@pytest.mark.parametrize("which", ["face_folder", "face_zip"])
def test_reader_merges_case_and_skips_corrupt_files(which, request, cache_dir, caplog):
    source = request.getfixturevalue(which)
    with caplog.at_level(logging.WARNING):
        data = load_dataset(source, SPEC, cache_dir=cache_dir)
    assert data.counts() == {"angry": 12, "happy": 13, "neutral": 12, "sad": 12}
    assert data.pixels.shape == (49, 48, 48) and data.pixels.dtype == np.uint8
    assert "broken.jpg" in caplog.text
    assert not any("broken" in p for p in data.paths)
    assert image_counts(source) == {"angry": 12, "happy": 14, "neutral": 12, "sad": 12}  # names only: broken counts


def test_folder_and_zip_give_the_same_images(face_folder, face_zip, cache_dir):
    a = load_dataset(face_folder, SPEC, cache_dir=cache_dir)
    b = load_dataset(face_zip, SPEC, cache_dir=cache_dir)
    assert np.array_equal(a.pixels, b.pixels) and np.array_equal(a.labels, b.labels)


def test_class_selection_and_order(face_zip, cache_dir):
    data = load_dataset(face_zip, PreprocessSpec(classes=("sad", "angry")), cache_dir=cache_dir)
    assert data.classes == ("sad", "angry")
    assert data.counts() == {"sad": 12, "angry": 12}
    assert all("sad" in p for p, y in zip(data.paths, data.labels) if y == 0)


def test_decoded_images_are_cached(face_zip, cache_dir):
    first = load_dataset(face_zip, SPEC, cache_dir=cache_dir)
    files = list(cache_dir.glob("*.npz"))
    assert len(files) == 1 and first.sha256[:32] in files[0].name
    with np.load(files[0]) as cached:
        entries = dict(cached)
    assert np.array_equal(entries["pixels"], first.pixels)
    entries["pixels"] = np.full_like(entries["pixels"], 7)  # only a read of the cache gives these pixels back
    np.savez(files[0], **entries)
    second = load_dataset(face_zip, SPEC, cache_dir=cache_dir)
    assert (second.pixels == 7).all() and first.paths == second.paths


def test_a_changed_folder_is_decoded_again(face_folder, tmp_path, cache_dir):
    folder = shutil.copytree(face_folder, tmp_path / "faces")
    first = load_dataset(folder, SPEC, cache_dir=cache_dir)
    image = sorted((folder / "sad").glob("*.png"))[0]
    image.write_bytes(sorted((folder / "happy").glob("*.png"))[0].read_bytes())
    second = load_dataset(folder, SPEC, cache_dir=cache_dir)
    assert second.sha256 != first.sha256 and len(list(cache_dir.glob("*.npz"))) == 2
    changed = second.paths.index(image.relative_to(folder).as_posix())
    assert not np.array_equal(first.pixels[changed], second.pixels[changed])


def test_clear_errors(face_zip, tmp_path, cache_dir):
    with pytest.raises(FerError, match="not found"):
        load_dataset(tmp_path / "missing.zip", SPEC, cache_dir=cache_dir)
    with pytest.raises(FerError, match="no images for class.*disgust"):
        load_dataset(face_zip, PreprocessSpec(classes=("angry", "disgust")), cache_dir=cache_dir)
    not_zip = tmp_path / "data.zip"
    not_zip.write_text("hello")
    with pytest.raises(FerError, match="neither a folder nor a .zip"):
        load_dataset(not_zip, SPEC, cache_dir=cache_dir)


def test_parse_classes_and_stats(face_zip, cache_dir):
    assert parse_classes(" Angry,happy ,SAD") == ("angry", "happy", "sad")
    for bad in ("angry,,sad", "angry,angry", ""):
        with pytest.raises(FerError):
            parse_classes(bad)
    data = load_dataset(face_zip, SPEC, cache_dir=cache_dir)
    mean, std = pixel_stats(data)
    expected = data.pixels.astype(np.float64) / 255
    assert mean == pytest.approx(expected.mean()) and std == pytest.approx(expected.std())


def test_seven_fer2013_classes_are_read(shared_data, cache_dir):
    classes = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
    data = load_dataset(shared_data / "fer2013" / "val.zip", PreprocessSpec(classes=classes), cache_dir)
    counts = data.counts()
    assert set(counts) == set(classes) and all(n > 0 for n in counts.values())
    assert sum(counts.values()) == 3136


def test_balanced_sampling_draws_classes_equally_often():
    labels = np.array([0] * 7000 + [1] * 2000 + [2] * 1000)
    order = epoch_order(labels, "balanced", torch.Generator().manual_seed(0))
    assert len(order) == len(labels)
    assert np.allclose(np.bincount(labels[order]) / len(labels), 1 / 3, atol=0.02)
    minority = order[labels[order] == 2]
    assert len(np.unique(minority)) > 900  # the draws spread over the whole class, not a few images
    shuffled = epoch_order(labels, "shuffle", torch.Generator().manual_seed(0))
    assert sorted(shuffled) == list(range(len(labels)))


def test_paths_under_the_data_root_are_recorded_relative_to_it(tmp_path, monkeypatch, face_zip):
    """fer_train.data_root: `$FER_SHARED_DATA/...` is found wherever the root is; the configs' `../shared/data/...`
    too when it is not there as given; other paths are kept as given."""

    root = tmp_path / "elsewhere"
    (root / "seed").mkdir(parents=True)
    shutil.copyfile(face_zip, root / "seed" / "faces.zip")
    monkeypatch.setenv(ENV, str(root))
    recorded = record(root / "seed" / "faces.zip")
    assert recorded == "$FER_SHARED_DATA/seed/faces.zip"
    assert locate(recorded) == root / "seed" / "faces.zip" and existing(recorded) == str(root / "seed" / "faces.zip")
    monkeypatch.chdir(tmp_path)  # no ../shared/data from here: the configs' spelling maps to the root
    assert locate("../shared/data/seed/faces.zip") == root / "seed" / "faces.zip"
    assert record(face_zip) == str(face_zip) and existing(str(tmp_path / "gone.zip")) is None
    assert len(load_dataset(recorded, PreprocessSpec(classes=CLASSES))) == len(
        load_dataset(face_zip, PreprocessSpec(classes=CLASSES))
    )
