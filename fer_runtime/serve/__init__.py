"""`fer-serve`: the recognizer as an HTTP service (`pip install "fer_runtime[serve]"`).

    from fer_runtime.serve import ServeSettings, create_app
    app = create_app(ServeSettings(max_batch=32))    # an ASGI app for any ASGI server
    # or: uvicorn --factory fer_runtime.serve:create_app

Starlette and uvicorn are imported only by this package's modules, on first use, never by the rest of
`fer_runtime` (so `fer-serve --help` answers, and says what to install, without them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["ServeSettings", "create_app"]

if TYPE_CHECKING:
    from fer_runtime.serve.app import create_app
    from fer_runtime.serve.settings import ServeSettings

_LAZY = {"create_app": "app", "ServeSettings": "settings"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"fer_runtime.serve.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'fer_runtime.serve' has no attribute {name!r}")
