"""What uvicorn leaves open to slow clients: it waits without end for a request's headers, so a client that
connects and sends nothing, or its headers a byte at a time, holds a connection and a file descriptor for
as long as it likes. `HeaderDeadline` is uvicorn's httptools protocol with a deadline on each request's
headers; `raise_open_file_limit` lets one process hold as many connections as its limit allows."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from fer_runtime.serve.settings import ServeSettings


def timeout_response(seconds: float) -> bytes:
    """A whole 408 answer with the service's `{"error": ...}` body; the connection closes after it."""
    body = json.dumps({"error": f"request headers not received within {seconds:g} s"}).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class HeaderDeadline(HttpToolsProtocol):
    """A connection must send each request's line and headers within `header_timeout_s`, counted from when it
    connects (the first request) or from the request's first byte (a kept-alive connection's next one; between
    requests uvicorn's keep-alive timeout applies). Past it, the client is answered 408 and the connection
    closed. `fer-serve` passes `functools.partial(HeaderDeadline, header_timeout_s=...)` as uvicorn's `http`;
    `uvicorn --http fer_runtime.serve.connections:HeaderDeadline` gives the default deadline."""

    def __init__(self, *args: Any, header_timeout_s: float = ServeSettings.header_timeout_s, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout_s = header_timeout_s
        self._deadline: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.header_timeout_s, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.write(timeout_response(self.header_timeout_s))
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def raise_open_file_limit(wanted: int) -> int:
    """Raise this process's soft limit on open files towards `wanted` (never past the hard limit, never
    lowered); the soft limit now in force. Each connection holds a descriptor, and many systems start
    processes at 1,024."""
    import resource  # POSIX only

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft
