"""The web page's part of the benchmark: the built page (`web/dist`) in headless Chromium against the Python
runtime in the same run, on one 640x480 photo (justin.jpg on a gray canvas, as `measure_serve` makes it):
ms per photo end to end, ms per face crop at batch 1, the page's first result after load, and web/dist's size.

    python -m benchmarks.measure_web      # writes benchmarks/results/DATE-web.json and .md
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2

from benchmarks.measure_serve import photo_640x480
from benchmarks.part import part_parser, write_part
from benchmarks.peak import CpuHeader
from benchmarks.records import JsonRecord
from benchmarks.timing import measure
from fer_runtime.markdown import goal_table, markdown_table
from fer_runtime.preprocess import decode_image
from fer_runtime.recognizer import Recognizer
from harness.web_page import build_page, page_result, page_server

PHOTO_NAME = "photo-640x480.png"  # lossless, so the page and Python see the same pixels
GRAPHS = ("float", "int8")  # the page's graphs, its default first


@dataclass(frozen=True)
class DistBytes(JsonRecord):
    """Bytes of web/dist by part: the WASM runtime (ort/), the models, and the page and library."""

    runtime: int
    models: int
    page: int

    def mb(self) -> dict[str, float]:
        return {k: v / 2**20 for k, v in asdict(self).items()}


@dataclass(frozen=True)
class PythonSide(JsonRecord):
    """The Python runtime on the photo, every core: ms per photo (`analyze`) and per crop at batch 1 (`classify`)."""

    photo_ms: float
    crop_ms: float


@dataclass(frozen=True)
class PageRun(JsonRecord):
    """The page with one graph: medians of `rounds` timed runs (app.js's `bench`), and a fresh browser's first
    result after load."""

    rounds: int
    photo_ms: float
    crop_ms: float
    threads: int
    first_result_ms: float
    faces: int


@dataclass(frozen=True)
class WebPart:
    python: PythonSide
    pages: dict[str, PageRun]  # by graph, the page's default first
    dist_bytes: DistBytes

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WebPart:
        pages = {graph: PageRun.from_json(page) for graph, page in data["pages"].items()}
        return cls(PythonSide.from_json(data["python"]), pages, DistBytes.from_json(data["dist_bytes"]))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def dist_sizes(site: Path) -> DistBytes:
    """web/dist's bytes by part."""
    parts = {"runtime": 0, "models": 0, "page": 0}
    for path in site.rglob("*"):
        if path.is_file():
            top = path.relative_to(site).parts[0]
            parts["runtime" if top == "ort" else "models" if top == "models" else "page"] += path.stat().st_size
    return DistBytes(**parts)


def python_side(photo_path: Path, repeats: int) -> PythonSide:
    recognizer = Recognizer()
    photo = decode_image(photo_path.read_bytes())
    crop = recognizer.prepare(photo).crops[0]
    return PythonSide(
        photo_ms=1000 * measure(lambda: recognizer.analyze(photo), repeats).median_s,
        crop_ms=1000 * measure(lambda: recognizer.classify([crop]), repeats).median_s,
    )


def _page(site: Path, photos: Path, repeats: int) -> PageRun:
    with page_server(site, photos) as base:
        first = page_result(f"{base}/index.html?image=/photos/{PHOTO_NAME}")  # a fresh browser: cold cache
        timed = page_result(f"{base}/index.html?image=/photos/{PHOTO_NAME}&bench={repeats}")
    return PageRun.from_json(
        {**timed["bench"], "first_result_ms": first["elapsed_ms"], "faces": len(first["result"]["faces"])}
    )


def web_benchmark(data: Path, repeats: int = 30) -> WebPart:
    """The Python runtime (its default int8 graph) and the page built with each graph, on the same photo."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cv2.imwrite(str(folder / PHOTO_NAME), photo_640x480(data / "photos" / "justin.jpg"))
        python = python_side(folder / PHOTO_NAME, repeats)
        sites = {graph: build_page(graph, folder / f"site-{graph}") for graph in GRAPHS}
        pages = {graph: _page(site, folder, repeats) for graph, site in sites.items()}
        return WebPart(python, pages, dist_sizes(sites[GRAPHS[0]]))


def web_markdown(result: dict[str, Any]) -> str:
    web = WebPart.from_json(result["web"])
    python, pages = web.python, web.pages
    page = pages[GRAPHS[0]]
    mb = web.dist_bytes.mb()
    total = sum(mb.values())
    ratio = page.photo_ms / python.photo_ms

    def row(what: str, ms: Callable[[PythonSide | PageRun], float]) -> list[str]:
        base = ms(python)
        return [what, f"{base:.1f}", *(f"{ms(p):.1f} ({ms(p) / base:.2f}x)" for p in pages.values())]

    goals = [
        ("photo in the page <= 2x the Python runtime's time", f"{ratio:.2f}x", ratio <= 2),
        ("first result <= 3 s after load", f"{page.first_result_ms / 1000:.2f} s", page.first_result_ms <= 3000),
        (
            "web/dist <= 20 MB",
            f"{total:.1f} MB (WASM runtime {mb['runtime']:.1f}, models {mb['models']:.1f}, page {mb['page']:.2f})",
            total <= 20,
        ),
    ]
    lines = [
        f"# The web page in headless Chromium: {result['date'][:10]}",
        "",
        f"{CpuHeader.from_json(result['cpu']).line()}. "
        f"Page: ONNX Runtime Web (WASM), {page.threads} thread(s); Python: ONNX Runtime with its default "
        f"(int8) graph, every core. Medians of {page.rounds} runs after a warm-up; "
        "`python -m benchmarks.measure_web`. The page ships the float graph (`npm run build`); both are timed.",
        "",
        *markdown_table(
            ("ms", "Python runtime", *(f"page, {g} graph (x Python)" for g in pages)),
            [
                row("640x480 photo end to end", lambda r: r.photo_ms),
                row("face crop at batch 1", lambda r: r.crop_ms),
                [
                    "first result after load (fresh browser)",
                    "",
                    *(f"{p.first_result_ms:.0f}" for p in pages.values()),
                ],
            ],
        ),
        "",
        *goal_table(goals, heading="goal (page as built by default)"),
    ]
    return "\n".join(lines)


def main() -> None:
    """`python -m benchmarks.measure_web`: the web page's part, written as benchmarks/results/DATE-web.json/.md."""
    parser = part_parser("python -m benchmarks.measure_web", main.__doc__)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    write_part(args.out, "web", web_benchmark(args.data, args.repeats).to_json(), web_markdown)


if __name__ == "__main__":
    main()
