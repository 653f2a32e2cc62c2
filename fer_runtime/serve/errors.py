"""The one error a request can end in: an HTTP status and a line for the client (`{"error": ...}`)."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse

from fer_runtime.errors import FerError


class RequestError(FerError):
    """A request the service will not or cannot answer with results: `status` is its HTTP status
    (4xx: the client's to fix; 503/504: the service is busy) and the message says why in one line."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = dict(headers or {})


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The error contract's answer: `status`, `{"error": message}` and `headers`."""
    return JSONResponse({"error": message}, status_code=status, headers=dict(headers or {}))
