"""The web page (`web/dist`) on a loopback static server, opened in headless Chromium, for the benchmark and the
tests: `build_page` runs `npm run build`, `page_server` serves the page and a folder of photos beside it (with
the cross-origin isolation headers that let ONNX Runtime Web use WASM threads), `page_result` opens a URL with
`web/scripts/page-result.mjs` and returns what the page wrote."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

WEB = Path(__file__).resolve().parents[1] / "web"
PHOTOS_PREFIX = "/photos/"
PAGE_TIMEOUT_S = 120


def missing_tools() -> list[str]:
    """What the page's tests and benchmark need that this machine lacks."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if not (WEB / "node_modules" / "onnxruntime-web").is_dir():
        missing.append("web/node_modules (run: npm ci --prefix web)")
    if not (os.environ.get("CHROMIUM") or shutil.which("chromium")):
        missing.append("chromium (Debian: apt-get install chromium)")
    return missing


def build_page(graph: str = "float", out: Path | None = None) -> Path:
    """`npm run build` in web/: the static site with the default model's `graph` in `out` (default web/dist)."""
    site = out or WEB / "dist"
    command = ["npm", "run", "--silent", "build", "--", "--graph", graph, "--out", str(site)]
    subprocess.run(command, cwd=WEB, check=True, capture_output=True, text=True)
    return site


class _Handler(SimpleHTTPRequestHandler):
    photos: Path

    def translate_path(self, path: str) -> str:
        if path.startswith(PHOTOS_PREFIX):
            name = Path(path[len(PHOTOS_PREFIX) :].split("?")[0]).name
            return str(self.photos / name)
        return super().translate_path(path)

    def end_headers(self) -> None:
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read the page, not the log
        pass


@contextmanager
def page_server(site: Path, photos: Path) -> Iterator[str]:
    """Serve `site` at / and the files of `photos` at /photos/ on 127.0.0.1 and a free port; yields the base URL."""
    handler = type("PageHandler", (_Handler,), {"photos": photos})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def page_result(
    url: str,
    timeout_s: float = PAGE_TIMEOUT_S,
    screenshot: Path | None = None,
    webcam: tuple[Path, float] | None = None,
) -> dict[str, Any]:
    """What the page at `url` wrote: {state, result, elapsed_ms, bench, priors (its prior menu's values),
    page_errors}; with `screenshot`, a PNG of the whole page is written there; with `webcam` (a .y4m clip,
    seconds), the clip is the camera, the webcam mode runs that long, and the answer is {state, summary,
    page_errors}."""
    extra = ["--screenshot", str(screenshot)] if screenshot else []
    if webcam is not None:
        extra += ["--webcam", str(webcam[0]), "--webcam-ms", str(int(webcam[1] * 1000))]
    done = subprocess.run(
        ["node", "scripts/page-result.mjs", url, "--timeout", str(int(timeout_s * 1000)), *extra],
        cwd=WEB,
        capture_output=True,
        text=True,
        timeout=timeout_s + 30,
    )
    if done.returncode != 0:
        raise RuntimeError(f"page-result.mjs failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer
