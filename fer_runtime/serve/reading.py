"""What a request carries: its body (read in chunks and cut off at the size limit), the images in it
(raw bytes, or multipart fields `file`) and its query options, each refused with a 4xx `RequestError`."""

from __future__ import annotations

from collections.abc import Iterable

from python_multipart.exceptions import FormParserError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import Message

from fer_runtime.serve.errors import RequestError
from fer_runtime.serve.pipeline import AnalyzeOptions

FILE_FIELD = "file"
MAX_FILES = 64  # images in one batch request
IMAGE_TYPES = ("image/", "application/octet-stream")
OPTIONS = ("min_confidence", "top_k", "detect_threshold", "no_detect")
_TRUE, _FALSE = ("", "1", "true", "yes", "on"), ("0", "false", "no", "off")


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or 413 as soon as it (or its declared length) passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise RequestError(400, f"bad Content-Length {declared!r}")
        if int(declared) > limit:
            raise RequestError(413, f"body of {int(declared):,} bytes is over this server's limit of {limit:,}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"body is over this server's limit of {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "application/octet-stream").split(";")[0].strip().lower()


async def image_bodies(request: Request, limit: int, *, many: bool) -> list[bytes]:
    """The images a request carries: its raw body (`image/*`, `application/octet-stream`) or its multipart
    fields `file` (one, or with `many` up to `MAX_FILES`)."""
    media_type = _media_type(request)
    body = await read_body(request, limit)
    if media_type == "multipart/form-data":
        return await _form_files(request, body, many)
    if many:
        raise RequestError(415, f"send multipart/form-data with the images in fields {FILE_FIELD!r}")
    if not media_type.startswith(IMAGE_TYPES):
        raise RequestError(415, f"unsupported Content-Type {media_type!r}: send image/* bytes or multipart/form-data")
    return [body]


async def _form_files(request: Request, body: bytes, many: bool) -> list[bytes]:
    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    parsed = Request(request.scope, replay)
    try:
        form = await parsed.form(max_files=MAX_FILES if many else 1, max_fields=MAX_FILES)
    except HTTPException as exc:  # Starlette's word for a multipart body it could not parse
        raise RequestError(400, f"bad multipart body: {exc.detail}") from None
    except (MultiPartException, FormParserError) as exc:
        raise RequestError(400, f"bad multipart body: {exc}") from None
    try:
        files = form.getlist(FILE_FIELD)
        if not files:
            raise RequestError(400, f"multipart body has no field {FILE_FIELD!r}")
        if not all(isinstance(part, UploadFile) for part in files):
            raise RequestError(400, f"field {FILE_FIELD!r} must be a file, not text")
        return [await part.read() for part in files if isinstance(part, UploadFile)]
    finally:
        await form.close()


def _number(name: str, text: str, kind: type[float] | type[int]) -> float:
    try:
        return kind(text)
    except ValueError:
        raise RequestError(422, f"query {name}={text!r} is not {'an integer' if kind is int else 'a number'}") from None


def analyze_options(query: Iterable[tuple[str, str]]) -> AnalyzeOptions:
    """`min_confidence` in [0, 1], `top_k` >= 1, `detect_threshold` in (0, 1), `no_detect` (a flag);
    anything else is 422."""
    values = dict(query)
    unknown = sorted(set(values) - set(OPTIONS))
    if unknown:
        raise RequestError(422, f"unknown query option(s) {', '.join(unknown)}; known: {', '.join(OPTIONS)}")
    min_confidence = top_k = threshold = None
    if "min_confidence" in values:
        min_confidence = _number("min_confidence", values["min_confidence"], float)
        if not 0 <= min_confidence <= 1:
            raise RequestError(422, f"min_confidence must be in [0, 1], got {min_confidence}")
    if "top_k" in values:
        top_k = int(_number("top_k", values["top_k"], int))
        if top_k < 1:
            raise RequestError(422, f"top_k must be at least 1, got {top_k}")
    if "detect_threshold" in values:
        threshold = _number("detect_threshold", values["detect_threshold"], float)
        if not 0 < threshold < 1:
            raise RequestError(422, f"detect_threshold must be in (0, 1), got {threshold}")
    flag = values.get("no_detect", "0").lower()
    if flag not in _TRUE + _FALSE:
        raise RequestError(422, f"no_detect must be true or false, got {flag!r}")
    return AnalyzeOptions(min_confidence, top_k, threshold, detect=flag in _FALSE)
