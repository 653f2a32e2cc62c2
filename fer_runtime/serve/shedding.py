"""Load shedding: while the service holds its limit of faces, an analyze request is answered 503 by the
first layer that sees it, before routing, the token check and the request's own task; the same answer
the endpoint would give (`Admission.refusal`), for less of the event loop's time."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from fer_runtime.serve.batching import Admission


class LoadShedding:
    def __init__(self, app: ASGIApp, admission: Admission, paths: set[str]) -> None:
        self.app, self.admission, self.paths = app, admission, paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused = self.admission.refusal() if scope["type"] == "http" and scope["path"] in self.paths else None
        if refused is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": str(refused)}, separators=(",", ":")).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        headers += [(name.lower().encode(), value.encode()) for name, value in refused.headers.items()]
        await send({"type": "http.response.start", "status": refused.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
