"""Test images with an EXIF orientation, built by hand (no imaging library needed)."""

from __future__ import annotations

import struct


def with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """A JPEG with an APP1 EXIF segment whose only tag is Orientation (0x0112), inserted after its SOI marker."""
    tiff = b"MM\x00*" + struct.pack(">I", 8) + struct.pack(">HHHIHHI", 1, 0x0112, 3, 1, orientation, 0, 0)
    payload = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]
