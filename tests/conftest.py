"""Shared fixtures: the project's data folder and small synthetic face datasets."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from fer_train.data_root import ENV, data_root

REPO = Path(__file__).resolve().parents[1]
CLASSES = ("angry", "happy", "neutral", "sad")
TINY_RESNET = {"widths": [8, 16, 16, 16], "blocks": [1, 1, 1, 1], "stem": 8}


def shared_data_dir() -> Path:
    return data_root() if os.environ.get(ENV) else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Decoded datasets go to a folder of this test session (subprocesses included), never ~/.cache/fer."""
    folder = tmp_path_factory.mktemp("fer-cache")
    before = os.environ.get("FER_CACHE_DIR")
    os.environ["FER_CACHE_DIR"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("FER_CACHE_DIR", None)
    else:
        os.environ["FER_CACHE_DIR"] = before


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: required in CI (fails loudly), skipped on a machine without it."""
    root = shared_data_dir()
    if not (root / "seed" / "Test_250.zip").is_file():
        message = f"shared data not found at {root} (set FER_SHARED_DATA)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return root


def synthetic_face(label: int, index: int, size: int = 48) -> np.ndarray:
    """A learnable stand-in for a face: a bright bar whose height encodes the class (and which a
    horizontal flip keeps in place, as training augmentation flips)."""
    rng = np.random.default_rng(1000 * label + index)
    image = rng.integers(40, 90, (size, size)).astype(np.uint8)
    row = 6 + (label % 7) * (size - 12) // 6 + int(rng.integers(-1, 2))
    image[max(0, row - 3) : row + 3, 8 : size - 8] = 220
    return image


def write_face_folder(
    root: Path, per_class: int = 12, classes: tuple[str, ...] = CLASSES, corrupt: bool = True
) -> Path:
    """root/Train/<Class>/<n>.png: `per_class` images a class (one more for happy, in a folder
    spelled HAPPY), mixed-case folder names and, optionally, one corrupt file."""
    top = root / "Train"
    for label, name in enumerate(classes):
        folder = top / (name.capitalize() if label % 2 == 0 else name)
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            cv2.imwrite(str(folder / f"{name}_{i:03d}.png"), synthetic_face(label, i))
    extra = top / "HAPPY"  # the same class under another case
    extra.mkdir(exist_ok=True)
    cv2.imwrite(str(extra / "happy_extra.png"), synthetic_face(1, per_class))
    if corrupt:
        (top / "happy" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg")
    return top


def zip_folder(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            archive.write(path, path.relative_to(folder.parent).as_posix())
    return target


@pytest.fixture(scope="session")
def face_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_face_folder(tmp_path_factory.mktemp("faces"))


@pytest.fixture(scope="session")
def face_zip(face_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return zip_folder(face_folder, tmp_path_factory.mktemp("zips") / "faces.zip")


@pytest.fixture()
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def tiny_export(face_zip, tmp_path_factory):
    """A 3-epoch tiny fer_resnet on the synthetic faces, exported float + int8: (root folder, ExportResult)."""
    from fer_train.config import FitConfig
    from fer_train.export import export_checkpoint
    from fer_train.train import fit

    root = tmp_path_factory.mktemp("export")
    fit(
        FitConfig(
            data=str(face_zip),
            val=str(face_zip),
            out=str(root / "run"),
            model="fer_resnet",
            model_options=TINY_RESNET,
            epochs=3,
            batch_size=16,
            threads=1,
            cache_dir=str(root / "cache"),
        ),
        progress=False,
    )
    result = export_checkpoint(
        root / "run" / "best.pt",
        root / "out",
        "tiny",
        quantize=True,
        calib=str(face_zip),
        check=str(face_zip),
        allow_int8_drop=True,
        cache_dir=str(root / "cache"),
    )
    return root, result
