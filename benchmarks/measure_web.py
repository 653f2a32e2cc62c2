"""The web page's part of the benchmark: the built page (`web/dist`) in headless Chromium against the Python
runtime in the same run, on one 640x480 photo (justin.jpg on a gray canvas, as `measure_serve` makes it):
ms per photo end to end, ms per face crop at batch 1, the page's first result after load, and web/dist's size.

    python -m benchmarks.measure_web      # writes benchmarks/results/DATE-web.json and .md
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import cv2

from benchmarks.measure_serve import photo_640x480
from benchmarks.part import part_parser, write_part
from benchmarks.timing import measure
from fer_runtime.markdown import goal_table, markdown_table
from fer_runtime.preprocess import decode_image
from fer_runtime.recognizer import Recognizer
from harness.web_page import build_page, page_result, page_server

PHOTO_NAME = "photo-640x480.png"  # lossless, so the page and Python see the same pixels
GRAPHS = ("float", "int8")  # the page's graphs, its default first


def dist_sizes(site: Path) -> dict[str, int]:
    """Bytes of web/dist by part: the WASM runtime (ort/), the models, and the page and library."""
    parts = {"runtime": 0, "models": 0, "page": 0}
    for path in site.rglob("*"):
        if path.is_file():
            top = path.relative_to(site).parts[0]
            parts["runtime" if top == "ort" else "models" if top == "models" else "page"] += path.stat().st_size
    return parts


def python_side(photo_path: Path, repeats: int) -> dict[str, float]:
    """ms per photo (`Recognizer.analyze`) and per crop at batch 1 (`classify`), every core."""
    recognizer = Recognizer()
    photo = decode_image(photo_path.read_bytes())
    crop = recognizer.prepare(photo).crops[0]
    return {
        "photo_ms": 1000 * measure(lambda: recognizer.analyze(photo), repeats).median_s,
        "crop_ms": 1000 * measure(lambda: recognizer.classify([crop]), repeats).median_s,
    }


def _page(site: Path, photos: Path, repeats: int) -> dict[str, Any]:
    with page_server(site, photos) as base:
        first = page_result(f"{base}/index.html?image=/photos/{PHOTO_NAME}")  # a fresh browser: cold cache
        timed = page_result(f"{base}/index.html?image=/photos/{PHOTO_NAME}&bench={repeats}")
    return {**timed["bench"], "first_result_ms": first["elapsed_ms"], "faces": len(first["result"]["faces"])}


def web_benchmark(data: Path, repeats: int = 30) -> dict[str, Any]:
    """The Python runtime (its default int8 graph) and the page built with each graph, on the same photo."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cv2.imwrite(str(folder / PHOTO_NAME), photo_640x480(data / "photos" / "justin.jpg"))
        python = python_side(folder / PHOTO_NAME, repeats)
        sites = {graph: build_page(graph, folder / f"site-{graph}") for graph in GRAPHS}
        pages = {graph: _page(site, folder, repeats) for graph, site in sites.items()}
        sizes = dist_sizes(sites[GRAPHS[0]])
    return {"python": python, "pages": pages, "dist_bytes": sizes}


def web_markdown(result: dict[str, Any]) -> str:
    web = result["web"]
    python, pages, sizes = web["python"], web["pages"], web["dist_bytes"]
    page = pages[GRAPHS[0]]
    mb = {k: v / 2**20 for k, v in sizes.items()}
    total = sum(mb.values())
    ratio = page["photo_ms"] / python["photo_ms"]

    def row(what: str, key: str) -> list[str]:
        return [what, f"{python[key]:.1f}", *(f"{p[key]:.1f} ({p[key] / python[key]:.2f}x)" for p in pages.values())]

    goals = [
        ("photo in the page <= 2x the Python runtime's time", f"{ratio:.2f}x", ratio <= 2),
        ("first result <= 3 s after load", f"{page['first_result_ms'] / 1000:.2f} s", page["first_result_ms"] <= 3000),
        (
            "web/dist <= 20 MB",
            f"{total:.1f} MB (WASM runtime {mb['runtime']:.1f}, models {mb['models']:.1f}, page {mb['page']:.2f})",
            total <= 20,
        ),
    ]
    cpu = result["cpu"]
    lines = [
        f"# The web page in headless Chromium: {result['date'][:10]}",
        "",
        f"CPU: {cpu['cpu']}, {cpu['cores']} cores, AVX-512 {cpu['avx512']}, VNNI {cpu['vnni']}. "
        f"Page: ONNX Runtime Web (WASM), {page['threads']} thread(s); Python: ONNX Runtime with its default "
        f"(int8) graph, every core. Medians of {page['rounds']} runs after a warm-up; "
        "`python -m benchmarks.measure_web`. The page ships the float graph (`npm run build`); both are timed.",
        "",
        *markdown_table(
            ("ms", "Python runtime", *(f"page, {g} graph (x Python)" for g in pages)),
            [
                row("640x480 photo end to end", "photo_ms"),
                row("face crop at batch 1", "crop_ms"),
                [
                    "first result after load (fresh browser)",
                    "",
                    *(f"{p['first_result_ms']:.0f}" for p in pages.values()),
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
    write_part(args.out, "web", web_benchmark(args.data, args.repeats), web_markdown)


if __name__ == "__main__":
    main()
