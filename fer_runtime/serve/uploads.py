"""Uploaded image bytes → a decoded image, after checking what their header declares (format and pixel
count) so that a decompression bomb is refused before any pixel is decoded; and a stack of face crops sent as
one NumPy `.npy` array, read from the bytes its header declares."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import numpy as np

from fer_runtime.errors import FerError
from fer_runtime.preprocess import decode_image
from fer_runtime.serve.errors import RequestError

NPY_TYPE = "application/x-npy"  # a stack of crops, as `numpy.save` writes it
FORMATS = ("jpeg", "png", "gif", "bmp", "webp")  # what the service decodes (its headers are checked)
_JPEG_SIZE_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


@dataclass(frozen=True)
class ImageHeader:
    format: str
    width: int
    height: int


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a JPEG's first start-of-frame segment, walking the segments before it."""
    at = 2
    while at + 9 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in _JPEG_SIZE_MARKERS:
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        at += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def read_header(data: bytes) -> ImageHeader:
    """The format and size an image's bytes declare; RequestError (400/415) when they declare none."""
    if not data:
        raise RequestError(400, "empty body: send an image's bytes")
    size: tuple[int, int] | None = None
    if data.startswith(b"\xff\xd8\xff"):
        kind, size = "jpeg", _jpeg_size(data)
    elif data.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = "png"
        size = struct.unpack(">II", data[16:24]) if len(data) >= 24 and data[12:16] == b"IHDR" else None
    elif data[:6] in (b"GIF87a", b"GIF89a"):
        kind = "gif"
        size = struct.unpack("<HH", data[6:10]) if len(data) >= 10 else None
    elif data.startswith(b"BM"):
        kind = "bmp"
        size = struct.unpack("<ii", data[18:26]) if len(data) >= 26 else None
    elif data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        kind, size = "webp", _webp_size(data)
    else:
        raise RequestError(415, f"not an image in a supported format ({', '.join(FORMATS)})")
    if size is None:
        raise RequestError(400, f"truncated or malformed {kind} header")
    width, height = abs(int(size[0])), abs(int(size[1]))  # a BMP's height is negative when stored top-down
    if width == 0 or height == 0:
        raise RequestError(400, f"{kind} header declares an empty image ({width}x{height})")
    return ImageHeader(kind, width, height)


def decode_upload(data: bytes, max_pixels: int, *, header: ImageHeader | None = None) -> np.ndarray:
    """Check the header (format, then width x height <= `max_pixels`, else 413), then decode. `header`:
    `read_header(data)` where the caller has it already."""
    if header is None:
        header = read_header(data)
    if header.width * header.height > max_pixels:
        raise RequestError(
            413, f"image of {header.width}x{header.height} pixels is over this server's limit of {max_pixels:,}"
        )
    try:
        image = decode_image(data, f"{header.format} image")
    except FerError as exc:
        raise RequestError(400, f"{exc} (truncated or corrupt)") from None
    declared = {(header.height, header.width), (header.width, header.height)}  # EXIF may turn it a quarter
    if image.shape[:2] not in declared:
        raise RequestError(400, f"{header.format} image decodes to another size than its header declares")
    return image


def _npy_header(data: bytes) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """Shape, Fortran order, dtype and the pixels' offset from a `.npy` header (format 1.0 or 2.0), read without
    reading the array: a header may declare more than its body holds."""
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"format {version[0]}.{version[1]}")
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(stream)
    except ValueError as exc:
        raise RequestError(400, f"not a readable .npy array ({exc})") from None
    return shape, fortran, dtype, stream.tell()


def read_crop_stack(data: bytes, *, max_crops: int, max_pixels: int) -> np.ndarray:
    """A `.npy` body → its face crops, uint8 [N, H, W] (gray) or [N, H, W, 3] (BGR), a view of the body's bytes;
    400, 413 or 422 for a stack that is unreadable, too large or not crops."""
    shape, fortran, dtype, offset = _npy_header(data)
    if dtype != np.uint8 or fortran or len(shape) not in (3, 4) or (len(shape) == 4 and shape[3] != 3):
        order = "Fortran-order " if fortran else ""
        raise RequestError(
            422, f"send crops as a C-order uint8 array [N, H, W] or [N, H, W, 3], not a {order}{dtype} {list(shape)}"
        )
    if 0 in shape:
        raise RequestError(400, f"empty stack of crops {list(shape)}")
    if shape[0] > max_crops:
        raise RequestError(400, f"more than {max_crops} crops in the stack ({shape[0]})")
    if shape[1] * shape[2] > max_pixels:
        raise RequestError(413, f"crops of {shape[2]}x{shape[1]} pixels are over this server's limit of {max_pixels:,}")
    count = int(np.prod(shape))
    if len(data) - offset != count:
        raise RequestError(
            400, f".npy body holds {len(data) - offset:,} bytes of pixels where its header declares {count:,}"
        )
    return np.frombuffer(data, np.uint8, count, offset).reshape(shape)
