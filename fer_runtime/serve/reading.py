"""What a request carries: its body (read in chunks and cut off at the size limit), the images in it (raw
bytes, or multipart fields `file`: `multipart.py`) and its query options, each refused with a 4xx
`RequestError`."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.requests import Request

from fer_runtime.request_options import REQUEST_OPTIONS, RequestOption
from fer_runtime.serve.errors import RequestError
from fer_runtime.serve.multipart import form_parts
from fer_runtime.serve.pipeline import AnalyzeOptions
from fer_runtime.serve.uploads import NPY_TYPE

FILE_FIELD = "file"
MAX_FILES = 64  # images in one batch request
MAX_FIELDS = 64  # other parts beside them
IMAGE_TYPES = ("image/", "application/octet-stream")
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


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "application/octet-stream").split(";")[0].strip().lower()


async def image_bodies(request: Request, limit: int, *, many: bool) -> list[bytes]:
    """The images a request carries: its raw body (`image/*`, `application/octet-stream`) or its multipart
    fields `file` (one, or with `many` up to `MAX_FILES`)."""
    kind = media_type(request)
    body = await read_body(request, limit)
    if kind == "multipart/form-data":
        return _form_files(body, request.headers.get("content-type", ""), many)
    if many:
        raise RequestError(
            415, f"send multipart/form-data with the images in fields {FILE_FIELD!r}, or crops as {NPY_TYPE}"
        )
    if kind == NPY_TYPE:
        raise RequestError(415, f"a stack of crops ({NPY_TYPE}) goes to /v1/analyze/batch")
    if not kind.startswith(IMAGE_TYPES):
        raise RequestError(415, f"unsupported Content-Type {kind!r}: send image/* bytes or multipart/form-data")
    return [body]


def _form_files(body: bytes, content_type: str, many: bool) -> list[bytes]:
    limit = MAX_FILES if many else 1
    parts = form_parts(body, content_type, max_parts=MAX_FILES + MAX_FIELDS)
    files = [part for part in parts if part.name == FILE_FIELD]
    if not files:
        raise RequestError(400, f"multipart body has no field {FILE_FIELD!r}")
    if any(part.filename is None for part in files):
        raise RequestError(400, f"field {FILE_FIELD!r} must be a file, not text")
    if len(files) > limit:
        raise RequestError(400, f"more than {limit} image(s) in field {FILE_FIELD!r}")
    return [part.content for part in files]


def _number(name: str, text: str, kind: type[float] | type[int]) -> float:
    try:
        return kind(text)
    except ValueError:
        raise RequestError(422, f"query {name}={text!r} is not {'an integer' if kind is int else 'a number'}") from None


def _option_value(option: RequestOption, text: str) -> float | bool:
    if option.kind is bool:
        flag = text.lower()
        if flag not in _TRUE + _FALSE:
            raise RequestError(422, f"{option.name} must be true or false, got {flag!r}")
        return flag in _TRUE
    value = _number(option.name, text, option.kind)
    problem = option.out_of_range(value)
    if problem:
        raise RequestError(422, problem)
    return value


def analyze_options(query: Iterable[tuple[str, str]]) -> AnalyzeOptions:
    """The query's options (`request_options.REQUEST_OPTIONS`: their kinds and ranges); anything else is 422."""
    values = dict(query)
    known = {option.name: option for option in REQUEST_OPTIONS}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise RequestError(422, f"unknown query option(s) {', '.join(unknown)}; known: {', '.join(known)}")
    parsed = {name: _option_value(known[name], text) for name, text in values.items()}
    top_k = parsed.get("top_k")
    return AnalyzeOptions(
        min_confidence=parsed.get("min_confidence"),
        top_k=None if top_k is None else int(top_k),
        detect_threshold=parsed.get("detect_threshold"),
        detect=not parsed.get("no_detect", False),
    )
