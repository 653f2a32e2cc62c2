"""`fer-serve` under load from `wrk` (127.0.0.1 only, every phase bounded in time): crops one per request
against `Recognizer.classify` at batch 64 in process, 640x480 photos against `Recognizer.analyze`, what
micro-batching buys, an overload at twice the measured capacity, and bad inputs sent while under load."""

from __future__ import annotations

import http.client
import io
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np

from benchmarks.overload_run import KeptAliveProbe, Overload
from benchmarks.serve_runs import BadInputs, InProcessRates
from benchmarks.timing import measure
from benchmarks.wrk_run import Latency, WrkRun, wrk
from fer_runtime.inputs import read_image
from fer_runtime.preprocess import to_bgr
from fer_runtime.recognizer import Recognizer
from fer_runtime.serve.uploads import NPY_TYPE
from harness.serve_process import Server, get_status, serving, wait_for_waiting_faces

CONNECTIONS = 64  # crops: concurrent clients, as the goal states
PHOTO_CONNECTIONS = 8
BATCH_CROPS = 64  # crops in each /v1/analyze/batch request (the most it takes)
BATCH_CONNECTIONS = 4
OVERLOAD_CONNECTIONS = 256
OVERLOAD_QUEUE = 64  # the overload server's --max-queue
RSS_REQUESTS = 10_000  # the overload phase runs until at least this many requests (or its time bound)


def multipart_crops(crop: bytes, count: int) -> tuple[bytes, str]:
    """A multipart/form-data body holding `crop` `count` times in fields `file` (what /v1/analyze/batch takes),
    and its Content-Type."""
    boundary = "fer-benchmark-boundary"
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="crop.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    body = b"".join(part + crop + b"\r\n" for _ in range(count)) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _rss_mb(server: Server) -> float:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) / 1024


def _post(
    url: str, body: bytes, content_type: str, connection: http.client.HTTPConnection | None = None
) -> tuple[int, float]:
    """POST to /v1/analyze (on `connection`, kept alive, when given): the status and the seconds it took."""
    host, port = url.removeprefix("http://").split(":")
    client = connection or http.client.HTTPConnection(host, int(port), timeout=30)
    started = time.perf_counter()
    client.request("POST", "/v1/analyze", body, {"Content-Type": content_type})
    answer = client.getresponse()
    answer.read()
    elapsed = time.perf_counter() - started
    if connection is None:
        client.close()
    return answer.status, elapsed


def _healthy(url: str) -> bool:
    return get_status(f"{url}/healthz") == 200


BAD_INPUTS = {
    "empty body": (b"", "image/png"),
    "not an image": (b"hello, world", "image/png"),
    "truncated PNG": (None, "image/png"),  # filled in from the crop
    "bomb header (65536x65536)": (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x01\x00\x00\x00\x01\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00",
        "image/png",
    ),
    "wrong content type": (None, "text/plain"),
}


def _bad_inputs_during(url: str, crop: bytes, stop: threading.Event, max_rounds: int = 50) -> BadInputs:
    """Each bad input in turn while the load runs (at most `max_rounds` rounds): its status, and /healthz after it."""
    statuses: dict[str, set[int]] = {name: set() for name in BAD_INPUTS}
    unhealthy = rounds = 0
    while not stop.is_set() and rounds < max_rounds:
        rounds += 1
        for name, (body, content_type) in BAD_INPUTS.items():
            payload = body if body is not None else (crop[: len(crop) // 2] if "truncated" in name else crop)
            statuses[name].add(_post(url, payload, content_type)[0])
            unhealthy += not _healthy(url)
        stop.wait(0.05)
    return BadInputs(statuses={n: sorted(s) for n, s in statuses.items()}, rounds=rounds, unhealthy_after=unhealthy)


def _percentiles_ms(seconds: list[float]) -> Latency | None:
    if not seconds:
        return None
    p50, p90, p99 = np.percentile(seconds, [50, 90, 99]) * 1000
    return Latency(float(p50), float(p90), float(p99), 1000 * max(seconds))


def _probe_during(url: str, crop: bytes, stop: threading.Event, max_probes: int = 5000) -> KeptAliveProbe:
    """One client among the crowd, on a kept-alive connection: a request every 10 ms, each answer's status
    and latency."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    samples: list[tuple[int, float]] = []
    while not stop.is_set() and len(samples) < max_probes:
        samples.append(_post(url, crop, "image/png", connection))
        stop.wait(0.01)
    connection.close()
    return KeptAliveProbe(
        probes=len(samples),
        turned_away=_percentiles_ms([s for code, s in samples if code == 503]),
        turned_away_count=sum(code == 503 for code, _ in samples),
        accepted=_percentiles_ms([s for code, s in samples if code == 200]),
        accepted_count=sum(code == 200 for code, _ in samples),
        other_statuses=sorted({code for code, _ in samples} - {200, 503}),
    )


Helped = TypeVar("Helped")  # what a helper thread measured beside a load


def _with_helper(
    helper: Callable[[str, bytes, threading.Event], Helped],
    url: str,
    crop: bytes,
    load: Callable[[], WrkRun],
) -> tuple[WrkRun, Helped]:
    """Run `load()` while `helper` runs on a thread until told to stop; both results."""
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        helped = pool.submit(helper, url, crop, stop)
        try:
            measured = load()
        finally:
            stop.set()
        return measured, helped.result()


def photo_640x480(path: Path) -> np.ndarray:
    """A 640x480 photo: the given one scaled to 480 rows, on a gray canvas."""
    image = to_bgr(read_image(path))
    scale = 480 / image.shape[0]
    scaled = cv2.resize(image, (min(640, round(image.shape[1] * scale)), 480), interpolation=cv2.INTER_AREA)
    canvas = np.full((480, 640, 3), 127, np.uint8)
    left = (640 - scaled.shape[1]) // 2
    canvas[:, left : left + scaled.shape[1]] = scaled
    return canvas


def in_process(crops: np.ndarray, photo: np.ndarray, repeats: int) -> InProcessRates:
    """The rates the service is held to: classify at batch 64 and analyze, in this process, all cores."""
    recognizer = Recognizer()
    batch = crops[:64]
    classify = measure(lambda: recognizer.classify(batch), repeats)
    analyze = measure(lambda: recognizer.analyze(photo), repeats)
    return InProcessRates(classify_per_s=len(batch) / classify.median_s, analyze_per_s=1 / analyze.median_s)


def serve_benchmark(work: Path, crops: np.ndarray, photo_path: Path, seconds: float) -> dict[str, Any]:
    """Every phase; `seconds` bounds each load (the overload phase: until RSS_REQUESTS, at most 3x that)."""
    if shutil.which("wrk") is None:
        return {"skipped": "wrk is not installed (apt-get install wrk); the service was not measured"}
    work.mkdir(parents=True, exist_ok=True)
    crop_file, photo_file = work / "crop.png", work / "photo.jpg"
    cv2.imwrite(str(crop_file), crops[0])
    photo = photo_640x480(photo_path)
    cv2.imwrite(str(photo_file), photo)
    crop = crop_file.read_bytes()
    rates = in_process(crops, photo, 10 if seconds < 5 else 40)
    result: dict[str, Any] = {"in_process": rates.to_json(), "crops": {}}
    for name, options in {
        "micro-batching": [],
        "one call per request": ["--max-batch", "1"],
        "2 workers": ["--workers", "2", "--threads", "1"],
    }.items():
        with serving(options) as server:
            wrk(server.url, crop_file, "image/png", connections=CONNECTIONS, seconds=1)  # warm-up
            if name == "micro-batching":
                run, phases = _default_server_phases(server.url, crop_file, crops[:BATCH_CROPS], seconds)
                result.update(phases)
            else:
                run = wrk(server.url, crop_file, "image/png", connections=CONNECTIONS, seconds=seconds)
            result["crops"][name] = {**run.to_json(), "exit_status": server.stop()[0]}
    with serving() as server:
        wrk(server.url, photo_file, "image/jpeg", connections=PHOTO_CONNECTIONS, seconds=1)
        photos = wrk(server.url, photo_file, "image/jpeg", connections=PHOTO_CONNECTIONS, seconds=seconds)
        result["photos"] = photos.to_json()
    result["overload"] = _overload(crop_file, crop, result["crops"]["micro-batching"]["per_s"], seconds).to_json()
    return result


def _default_server_phases(
    url: str, crop_file: Path, stack: np.ndarray, seconds: float
) -> tuple[WrkRun, dict[str, Any]]:
    """On the server with default settings: crops one per request (the crop in `crop_file`; bad inputs sent
    meanwhile), then the HTTP stack's own rate (GET /healthz, same connections and wrk), then /v1/analyze/batch with
    BATCH_CROPS crops per request, as multipart files (that crop each time) and as one .npy stack (`stack`, the
    crops in-process classify is timed on). The crops run, and the other phases by name."""
    crop = crop_file.read_bytes()
    load = partial(wrk, url, crop_file, "image/png", connections=CONNECTIONS, seconds=seconds)
    crops, bad_inputs = _with_helper(_bad_inputs_during, url, crop, load)
    healthz = wrk(url, None, connections=CONNECTIONS, seconds=seconds, route="/healthz")
    stack_body = io.BytesIO()
    np.save(stack_body, stack)
    batches = {}
    for name, (body, content_type) in {
        "batch": multipart_crops(crop, BATCH_CROPS),
        "batch_stack": (stack_body.getvalue(), NPY_TYPE),
    }.items():
        body_file = crop_file.with_name(f"{name}.body")
        body_file.write_bytes(body)
        wait_for_waiting_faces(url, 0, rising=False)  # the last phase's requests answered: none turned away for them
        run = wrk(
            url, body_file, content_type, connections=BATCH_CONNECTIONS, seconds=seconds, route="/v1/analyze/batch"
        )
        batches[name] = replace(run, crops_per_request=BATCH_CROPS).to_json()
    return crops, {"bad_inputs": bad_inputs.to_json(), "healthz": healthz.to_json(), **batches}


def _overload(crop_file: Path, crop: bytes, capacity: float, seconds: float) -> Overload:
    """Clients offering twice `capacity` (each pausing so that together they send 2x), against a server
    that lets OVERLOAD_QUEUE faces wait."""
    delay_ms = 1000 * OVERLOAD_CONNECTIONS / (2 * capacity)
    duration = min(3 * seconds, max(seconds, RSS_REQUESTS / (2 * capacity) * 1.2))
    with serving(["--max-queue", str(OVERLOAD_QUEUE)]) as server:
        wrk(server.url, crop_file, "image/png", connections=CONNECTIONS, seconds=1)
        rss_before = _rss_mb(server)
        load = partial(
            wrk,
            server.url,
            crop_file,
            "image/png",
            connections=OVERLOAD_CONNECTIONS,
            seconds=duration,
            delay_ms=delay_ms,
        )
        measured, probe = _with_helper(_probe_during, server.url, crop, load)
        rss_after = _rss_mb(server)
        alive = server.process.poll() is None and _healthy(server.url)
        exit_status = server.stop()[0]
    return Overload(
        run=measured,
        offered_per_s=2 * capacity,
        max_queue=OVERLOAD_QUEUE,
        delay_ms=delay_ms,
        probe=probe,
        rss_before_mb=rss_before,
        rss_growth_mb=rss_after - rss_before,
        alive_after=alive,
        exit_status=exit_status,
    )


def main() -> None:
    """`python -m benchmarks.measure_serve`: only the service part of the benchmark, written as
    benchmarks/results/DATE-serve.json and .md (`python -m benchmarks` runs it with everything else)."""
    import tempfile

    from benchmarks.part import part_parser, write_part
    from benchmarks.report_serve import serve_markdown
    from fer_train.data import load_dataset

    parser = part_parser("python -m benchmarks.measure_serve", main.__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="Length of each load phase.")
    args = parser.parse_args()
    test = load_dataset(args.data / "seed" / "Test_250.zip", Recognizer().spec)
    with tempfile.TemporaryDirectory() as tmp:
        serve = serve_benchmark(Path(tmp), test.pixels, args.data / "photos" / "justin.jpg", args.seconds)
    write_part(args.out, "serve", serve, serve_markdown)


if __name__ == "__main__":
    main()
