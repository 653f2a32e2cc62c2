"""Face datasets: a folder or a .zip with one sub-folder per class, decoded once and cached.

The class of an image is the name of the folder that holds it (case-insensitive), whatever
top folders sit above it: `Train/Angry/x.jpg` and `test/happy/y.jpg` both work.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from tqdm import tqdm

from fer_runtime.atomic import atomic_path
from fer_runtime.errors import FerError
from fer_runtime.inputs import IMAGE_SUFFIXES
from fer_runtime.model_files import sha256_file
from fer_runtime.preprocess import decode_image, face_pixels
from fer_runtime.spec import PreprocessSpec
from fer_train.data_root import locate
from fer_train.votes import VoteTable, match_votes

log = logging.getLogger(__name__)

CACHE_FORMAT = 1


@dataclass(frozen=True)
class FaceDataset:
    """Decoded faces: `pixels` uint8 [N, H, W], `labels` int64 [N] indexing `classes`."""

    pixels: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    paths: tuple[str, ...]
    source: str
    sha256: str

    def __len__(self) -> int:
        return len(self.labels)

    def counts(self) -> dict[str, int]:
        tally = np.bincount(self.labels, minlength=len(self.classes))
        return {name: int(n) for name, n in zip(self.classes, tally)}

    def subset(self, indices: np.ndarray) -> FaceDataset:
        return FaceDataset(
            self.pixels[indices],
            self.labels[indices],
            self.classes,
            tuple(self.paths[i] for i in indices),
            self.source,
            self.sha256,
        )


def parse_classes(text: str) -> tuple[str, ...]:
    """'angry, Happy,sad' → ('angry', 'happy', 'sad'); duplicates and empties are errors."""
    names = tuple(part.strip().lower() for part in text.split(","))
    if not names or any(not n for n in names):
        raise FerError(f"invalid class list {text!r}: use comma-separated names, e.g. angry,happy,neutral,sad")
    if len(set(names)) != len(names):
        raise FerError(f"class list {text!r} repeats a class")
    return names


def split_names(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    """Short unique names for datasets, from their file or folder names: Test_250.zip → Test_250."""
    names: list[str] = []
    for path in paths:
        stem = Path(path).stem or Path(path).name
        names.append(stem if stem not in names else f"{stem}_{len(names) + 1}")
    return names


def default_cache_dir() -> Path:
    return Path(os.environ.get("FER_CACHE_DIR") or Path.home() / ".cache" / "fer")


def _image_entries(source: Path) -> Iterator[tuple[str, str]]:
    """(relative path, class folder) of every image file in the source, in sorted order, unread."""
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            rel = path.relative_to(source)
            if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and len(rel.parts) >= 2:
                yield rel.as_posix(), rel.parts[-2]
        return
    with zipfile.ZipFile(source) as archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            member = PurePosixPath(info.filename)
            if not info.is_dir() and member.suffix.lower() in IMAGE_SUFFIXES and len(member.parts) >= 2:
                yield info.filename, member.parts[-2]


def _members(source: Path) -> Iterator[tuple[str, str, bytes]]:
    """Yield (relative path, class folder, encoded bytes) for every image file in the source."""
    if source.is_dir():
        for rel, folder in _image_entries(source):
            yield rel, folder, (source / rel).read_bytes()
        return
    with zipfile.ZipFile(source) as archive:
        for rel, folder in _image_entries(source):
            yield rel, folder, archive.read(rel)


def image_counts(path: str | os.PathLike[str]) -> dict[str, int]:
    """Image files per class folder (lower-case), from the names alone: nothing is decoded."""
    return dict(Counter(folder.lower() for _, folder in _image_entries(locate(path))))


def content_hash(source: Path) -> str:
    """sha256 of a file, or of a folder's class-folder images (names and contents) in sorted order."""
    if not source.is_dir():
        return sha256_file(source)
    digest = hashlib.sha256()
    for rel, _ in _image_entries(source):
        digest.update(rel.encode() + b"\0")
        digest.update((source / rel).read_bytes())
    return digest.hexdigest()


def _decode_all(source: Path, spec: PreprocessSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pixels, folders, paths = [], [], []
    total = sum(image_counts(source).values())
    for rel, folder, data in tqdm(
        _members(source), total=total, desc=f"decoding {source.name}", unit="img", leave=False, disable=None
    ):
        try:
            pixels.append(face_pixels(decode_image(data, rel), spec))
        except FerError as exc:
            log.warning("skipping unreadable image %s/%s (%s)", source, rel, exc)
            continue
        folders.append(folder.lower())
        paths.append(rel)
    stacked = np.stack(pixels) if pixels else np.zeros((0, spec.height, spec.width), np.uint8)
    return stacked, np.array(folders, dtype=str), np.array(paths, dtype=str)


def _decoded(
    source: Path, spec: PreprocessSpec, cache_dir: str | os.PathLike[str] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Every face of a folder or zip at the spec's input size, its folder and path, and the data's sha256;
    from the cache when an earlier run decoded it."""
    if not source.exists():
        raise FerError(f"data path not found: {source}")
    if source.is_file() and not zipfile.is_zipfile(source):
        raise FerError(f"{source} is neither a folder nor a .zip archive")
    sha = content_hash(source)
    cache_root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache_file = cache_root / f"{sha[:32]}-{spec.height}x{spec.width}-{spec.interpolation}-v{CACHE_FORMAT}.npz"
    if cache_file.exists():
        with np.load(cache_file, allow_pickle=False) as cached:
            return cached["pixels"], cached["folders"], cached["paths"], sha
    pixels, folders, paths = _decode_all(source, spec)
    cache_root.mkdir(parents=True, exist_ok=True)
    with atomic_path(cache_file) as tmp:
        np.savez(tmp, pixels=pixels, folders=folders, paths=paths)
    return pixels, folders, paths, sha


def load_every_face(
    path: str | os.PathLike[str], spec: PreprocessSpec, cache_dir: str | os.PathLike[str] | None = None
) -> FaceDataset:
    """Every face of a folder or zip, whatever its folder (its `classes` are the folders found): a split as a
    whole, as FER+'s yardstick scores it."""
    source = locate(path)
    pixels, folders, paths, sha = _decoded(source, spec, cache_dir)
    found = tuple(sorted(set(folders.tolist())))
    labels = np.array([found.index(f) for f in folders.tolist()], dtype=np.int64)
    return FaceDataset(pixels, labels, found, tuple(paths.tolist()), str(source), sha)


def missing_folders(path: str | os.PathLike[str], classes: tuple[str, ...]) -> list[str]:
    """The classes that have no folder in a folder or zip of faces (names compared case-insensitively)."""
    found = image_counts(path)
    return [c for c in classes if c.lower() not in found]


def load_with_votes(
    path: str | os.PathLike[str],
    spec: PreprocessSpec,
    cache_dir: str | os.PathLike[str] | None = None,
    votes: VoteTable | None = None,
) -> FaceDataset:
    """`load_dataset`, the faces labelled by FER+'s majority of `votes` when the data has no folder for some of
    the spec's classes (contempt), else by their folders."""
    labels = votes if votes is not None and missing_folders(path, spec.classes) else None
    return load_dataset(path, spec, cache_dir, labels_from=labels)


def load_dataset(
    path: str | os.PathLike[str],
    spec: PreprocessSpec,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    labels_from: VoteTable | None = None,
) -> FaceDataset:
    """Read a folder or zip of faces, keeping only the spec's classes (in that order), at its input size.

    A face's class is its folder's name or, with `labels_from`, the emotion FER+'s majority rule names from
    its votes (faces whose majority is none of the classes are left out): how a class without a folder
    (FER+'s contempt) is learned and scored.

    Decoded pixels are cached under `cache_dir` keyed by the data's content hash and the input
    size, so the next run skips decoding. Unreadable files are logged and skipped. `path` may be recorded
    relative to the data root (`data_root.locate`).
    """
    source = locate(path)
    pixels, folders, paths, sha = _decoded(source, spec, cache_dir)
    classes = tuple(c.lower() for c in spec.classes)
    if labels_from is not None:
        names = match_votes(labels_from, tuple(paths.tolist()), str(source)).ferplus
        assert names is not None  # match_votes always fills it
    else:
        names = folders.astype(object)
        found = sorted(set(folders.tolist()))
        missing = [c for c in classes if c not in found]
        if missing:
            raise FerError(
                f"{source}: no images for class(es) {', '.join(missing)}; folders found: {', '.join(found) or 'none'}"
                " (with crowd votes, faces can be labelled by the raters' majority instead)"
            )
    index = {name: i for i, name in enumerate(classes)}
    keep = np.array([n in index for n in names.tolist()], dtype=bool)
    labels = np.array([index[n] for n in names[keep].tolist()], dtype=np.int64)
    return FaceDataset(pixels[keep], labels, classes, tuple(paths[keep].tolist()), str(source), sha)


def epoch_order(labels: np.ndarray, sampling: str, generator: torch.Generator) -> np.ndarray:
    """The training images of one epoch, in order: a permutation of all of them ("shuffle"), or as many
    draws with replacement, each class equally likely and each image of a class equally likely ("balanced")."""
    if sampling == "shuffle":
        return torch.randperm(len(labels), generator=generator).numpy()
    counts = np.bincount(labels)
    chance = torch.from_numpy(1.0 / counts[labels])
    return torch.multinomial(chance, len(labels), replacement=True, generator=generator).numpy()


def pixel_stats(dataset: FaceDataset) -> tuple[float, float]:
    """Mean and standard deviation of the dataset's pixels, in units of pixel/255."""
    values = dataset.pixels.astype(np.float64) / 255.0
    return float(values.mean()), float(values.std())
