"""Mutated image files for fuzzing the upload, decode and detect path (the tests' corpus and the benchmark's
longer run): seed files from the shared photos in every format the service takes, changed by one seeded
mutation each. Pure: the same seed gives the same bytes."""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2

from fer_runtime.preprocess import decode_image

MUTATIONS = ("flip_bits", "cut", "insert", "declare_size", "random_bytes", "splice")
EXTREME_SIDES = (0, 1, 2, 3, 17, 255, 16383, 65535, 1 << 20, (1 << 31) - 1, (1 << 32) - 1)
SEED_FORMATS = (".png", ".jpg", ".bmp", ".gif", ".webp")


def seed_files(photos: Path) -> list[bytes]:
    """The shared photos as they are, the face photo re-encoded smaller in each of `SEED_FORMATS`, and a
    face-crop-sized PNG (which skips detection)."""
    originals = [(photos / name).read_bytes() for name in ("justin.jpg", "no-faces.jpg")]
    face = decode_image(originals[0])
    small = cv2.resize(face, (240, round(240 * face.shape[0] / face.shape[1])), interpolation=cv2.INTER_AREA)
    encoded = [cv2.imencode(suffix, small)[1].tobytes() for suffix in SEED_FORMATS]
    crop = cv2.imencode(".png", cv2.resize(small, (48, 48), interpolation=cv2.INTER_AREA))[1].tobytes()
    return [*originals, *encoded, crop]


def _size_fields(data: bytes) -> list[tuple[int, str]]:
    """Where a file's header declares its width and height: (offset, struct format) pairs."""
    if data.startswith(b"\x89PNG"):
        return [(16, ">I"), (20, ">I")]
    if data[:3] == b"GIF":
        return [(6, "<H"), (8, "<H")]
    if data.startswith(b"BM"):
        return [(18, "<i"), (22, "<i")]
    if data.startswith(b"\xff\xd8"):
        at = next((i for i in range(2, len(data) - 9) if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC2)), None)
        return [] if at is None else [(at + 5, ">H"), (at + 7, ">H")]
    if data.startswith(b"RIFF"):
        return [(26, "<H"), (28, "<H")]
    return []


def _declare_size(data: bytearray, rng: random.Random) -> bytearray:
    fields = _size_fields(bytes(data))
    for offset, fmt in rng.sample(fields, rng.randint(1, len(fields))) if fields else []:
        width = struct.calcsize(fmt)
        limit = 1 << (8 * width - (1 if fmt[-1] == "i" else 0))
        data[offset : offset + width] = struct.pack(fmt, rng.choice(EXTREME_SIDES) % limit)
    return data


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One of `MUTATIONS` applied to `data`: its name and the new bytes."""
    kind = rng.choice(MUTATIONS)
    out = bytearray(data)
    if kind == "flip_bits":
        for _ in range(rng.randint(1, 16)):
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    elif kind == "cut":
        out = out[: rng.randrange(len(out))]
    elif kind == "insert":
        at = rng.randrange(len(out))
        out[at:at] = rng.randbytes(rng.randint(1, 256))
    elif kind == "declare_size":
        out = _declare_size(out, rng)
    elif kind == "random_bytes":
        out = bytearray(data[: rng.choice((0, 2, 4, 12))] + rng.randbytes(rng.randint(0, 4096)))
    else:  # splice: a stretch of the file repeated or overwritten by another stretch of it
        a, b = sorted(rng.sample(range(len(out)), 2))
        at = rng.randrange(len(out))
        out[at : at + (b - a) * rng.randint(0, 1)] = out[a:b]
    return kind, bytes(out)


def corpus(seeds: Sequence[bytes], count: int, seed: int = 0) -> Iterator[tuple[str, bytes]]:
    """`count` mutated files, each from a seed file chosen at random: (mutation name, bytes)."""
    rng = random.Random(seed)
    for _ in range(count):
        yield mutate(rng.choice(seeds), rng)
