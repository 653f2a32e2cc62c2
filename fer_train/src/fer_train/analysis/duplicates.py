"""Exact and near-duplicate faces, within one split and across splits, by perceptual hash.

The hash is the classic DCT pHash: resize to 32x32, take the 8x8 lowest frequencies of the 2-D
DCT and set a bit where a coefficient exceeds their median. Two faces whose hashes differ in at
most a few of the 64 bits look alike (the same photo re-cropped, re-encoded or slightly shifted).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import cv2
import numpy as np

NEAR_MAX_BITS = 4  # hashes this close are the same photo
BLANK_MAX_STD = 3.0  # faces with a pixel std this low are blank: they all hash alike


def phash(pixels: np.ndarray) -> np.ndarray:
    """uint8 faces [N, H, W] → 64-bit perceptual hashes [N] (uint64)."""
    bits = np.empty((len(pixels), 64), dtype=bool)
    for i, face in enumerate(pixels):
        small = cv2.resize(face, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
        low = cv2.dct(small)[:8, :8].flatten()
        bits[i] = low > np.median(low[1:])
    return np.packbits(bits, axis=1).view(">u8").ravel().astype(np.uint64)


def exact_keys(pixels: np.ndarray) -> list[str]:
    """A digest of each face's decoded pixels: equal keys mean identical images."""
    return [hashlib.blake2b(face.tobytes(), digest_size=16).hexdigest() for face in pixels]


@dataclass(frozen=True)
class DuplicatePairs:
    """Index pairs (i in the first set, j in the second) and their hash distance in bits."""

    first: np.ndarray
    second: np.ndarray
    distance: np.ndarray

    def __len__(self) -> int:
        return len(self.first)


def near_pairs(
    hashes_a: np.ndarray, hashes_b: np.ndarray | None = None, max_distance: int = NEAR_MAX_BITS, chunk: int = 1024
) -> DuplicatePairs:
    """All pairs within `max_distance` bits. With one set, pairs i < j inside it."""
    same = hashes_b is None
    b = hashes_a if hashes_b is None else hashes_b
    firsts, seconds, distances = [], [], []
    for start in range(0, len(hashes_a), chunk):
        block = hashes_a[start : start + chunk, None] ^ b[None, :]
        dist = np.bitwise_count(block)
        close = dist <= max_distance
        if same:
            rows = np.arange(start, start + len(block))[:, None]
            close &= np.arange(len(b))[None, :] > rows
        i, j = np.nonzero(close)
        firsts.append(i + start)
        seconds.append(j)
        distances.append(dist[i, j])
    if not firsts:
        empty = np.zeros(0, np.int64)
        return DuplicatePairs(empty, empty, empty)
    return DuplicatePairs(np.concatenate(firsts), np.concatenate(seconds), np.concatenate(distances).astype(np.int64))


def non_blank_hashes(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The indices of the faces that are not blank (pixel std > BLANK_MAX_STD), and their hashes."""
    shown = np.nonzero(pixels.reshape(len(pixels), -1).std(1) > BLANK_MAX_STD)[0]
    return shown, phash(pixels[shown])


def has_near_copy(pixels: np.ndarray, reference_hashes: np.ndarray) -> np.ndarray:
    """For each face in `pixels` [N, H, W], whether a hash in `reference_hashes` (from `non_blank_hashes`)
    lies within NEAR_MAX_BITS of its own. Blank faces never count as copies."""
    shown, hashes = non_blank_hashes(pixels)
    found = np.zeros(len(pixels), dtype=bool)
    found[shown[near_pairs(hashes, reference_hashes).first]] = True
    return found
