"""Load shedding: while the service holds its limit of faces, an analyze request is answered 503 by the
first layer that sees it, before routing, the token check and the request's own task; the same answer
the endpoint would give (`Admission.refusal`), for less of the event loop's time."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from fer_runtime.serve.batching import Admission
from fer_runtime.serve.errors import error_response


class LoadShedding:
    def __init__(self, app: ASGIApp, admission: Admission, paths: set[str]) -> None:
        self.app, self.admission, self.paths = app, admission, paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        analyze = scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in self.paths
        refused = self.admission.refusal() if analyze else None
        if refused is None:
            await self.app(scope, receive, send)
            return
        await error_response(refused.status, str(refused), refused.headers)(scope, receive, send)
