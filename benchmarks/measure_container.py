"""`python -m benchmarks.measure_container [--update-readme]`: the fer-serve image beside the same server on
the host, in one run: the image's size, start to ready, whether its answers equal the host's on the shared
photos, one-crop POSTs per second under wrk (both with the same threads), and the container's peak memory
under that load (what deploy/kubernetes sizes its memory from)."""

from __future__ import annotations

import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import httpx2 as httpx
import numpy as np

from benchmarks.container import MAX_IMAGE_MB, MAX_READY_S, MIN_HOST_RATIO, build_image, image_size_mb, podman, running
from benchmarks.measure_serve import CONNECTIONS
from benchmarks.part import run_heading
from benchmarks.records import JsonRecord
from benchmarks.wrk_run import wrk
from fer_runtime.inputs import read_image
from fer_runtime.markdown import goal_table
from fer_runtime.recognizer import Recognizer
from fer_runtime.results import face_record
from harness.serve_process import serving

THREADS = 1  # the model's threads in both servers; the HTTP loop has the other core
SECONDS = 15
STARTS = 3


@dataclass(frozen=True)
class ContainerRun(JsonRecord):
    """The image's size, start to ready (median of `starts`), answers equal to the host's on `photos`, one-crop
    POSTs/s at `connections` in the container and on the host (the model on `threads` in both), peak memory."""

    image_mb: float
    ready_s: float
    starts: int
    photos: int
    same_answers: int
    threads: int
    connections: int
    container_per_s: float
    host_per_s: float
    peak_mb: float

    @property
    def host_ratio(self) -> float:
        return self.container_per_s / self.host_per_s


def _peak_mb(container_name: str) -> float:
    pid = podman("inspect", "--format", "{{.State.Pid}}", container_name).stdout.strip()
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024


def _same_answers(url: str, photos: list[Path]) -> int:
    recognizer = Recognizer()
    same = 0
    for photo in photos:
        answer = httpx.post(f"{url}/v1/analyze", content=photo.read_bytes(), timeout=30).json()["faces"]
        expected = [face_record(face) for face in recognizer.analyze(read_image(photo))]
        same += answer == expected
    return same


def container_benchmark(photos: list[Path], work: Path) -> ContainerRun:
    build_image()
    crop = work / "crop.png"
    cv2.imwrite(str(crop), np.random.default_rng(0).integers(0, 255, (48, 48), dtype=np.uint8))
    ready = []
    for _ in range(STARTS):
        with running({"FER_SERVE_THREADS": str(THREADS)}) as container:
            ready.append(container.ready_s)
    with running({"FER_SERVE_THREADS": str(THREADS)}) as container:
        same = _same_answers(container.url, photos)
        inside = wrk(container.url, crop, "image/png", connections=CONNECTIONS, seconds=SECONDS)
        peak_mb = _peak_mb(container.name)
    with serving(["--threads", str(THREADS)]) as server:
        host = wrk(server.url, crop, "image/png", connections=CONNECTIONS, seconds=SECONDS)
    return ContainerRun(
        image_mb=image_size_mb(),
        ready_s=statistics.median(ready),
        starts=len(ready),
        photos=len(photos),
        same_answers=same,
        threads=THREADS,
        connections=CONNECTIONS,
        container_per_s=inside.per_s,
        host_per_s=host.per_s,
        peak_mb=peak_mb,
    )


def container_markdown(result: dict[str, Any]) -> str:
    part = ContainerRun.from_json(result["container"])
    ratio = part.host_ratio
    rows = [
        (f"image <= {MAX_IMAGE_MB} MB", f"{part.image_mb:.0f} MB", part.image_mb <= MAX_IMAGE_MB),
        (
            f"start to ready <= {MAX_READY_S} s (median of {part.starts})",
            f"{part.ready_s:.2f} s",
            part.ready_s <= MAX_READY_S,
        ),
        (
            "answers equal the host's on the shared photos",
            f"{part.same_answers} of {part.photos}",
            part.same_answers == part.photos,
        ),
        (
            f"one-crop POSTs/s at {part.connections} connections >= {MIN_HOST_RATIO}x the host's",
            f"{part.container_per_s:,.0f} vs {part.host_per_s:,.0f}/s ({ratio:.2f}x)",
            ratio >= MIN_HOST_RATIO,
        ),
    ]
    return "\n".join(
        [
            run_heading(result, "Container run") + "; podman with runc, host network, "
            f"read-only root; the model on {part.threads} thread in both servers. Peak memory of the "
            f"container's server under that load: {part.peak_mb:.0f} MB.",
            "",
            *goal_table(rows),
        ]
    )


def main() -> None:
    from benchmarks.part import REPO, part_parser, write_part
    from benchmarks.report import fill_block

    parser = part_parser("python -m benchmarks.measure_container", __doc__)
    parser.add_argument("--update-readme", action="store_true", help="Put the result into README.md.")
    args = parser.parse_args()
    photos = sorted((args.data / "photos").glob("*.jpg"))
    with tempfile.TemporaryDirectory() as tmp:
        measured = container_benchmark(photos, Path(tmp)).to_json()
    table = write_part(args.out, "container", measured, container_markdown)
    if args.update_readme:
        fill_block(REPO / "README.md", "<!-- container:start -->", "<!-- container:end -->", table)


if __name__ == "__main__":
    main()
