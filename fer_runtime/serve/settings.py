"""What a `fer-serve` process is told: the model, its threads, batching, queue and input limits."""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fer_runtime.defaults import BATCH_SIZE
from fer_runtime.errors import FerError
from fer_runtime.recognizer_settings import RecognizerSettings

SETTINGS_VARIABLE = "FER_SERVE_SETTINGS"  # how `fer-serve --workers N` hands its settings to each process
PORT = 8000  # fer-serve's default port
ENVIRONMENT_PREFIX = "FER_SERVE"  # fer-serve's --max-queue may come from FER_SERVE_MAX_QUEUE, and so on
TOKEN_VARIABLE = "FER_SERVE_TOKEN"  # when set, /v1/* and /metrics need `Authorization: Bearer <token>`


CPU_QUOTA_FILES = (  # a container's CPU limit: cgroup v2, then v1
    ("/sys/fs/cgroup/cpu.max",),
    ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us"),
)


def cpu_quota(files: tuple[tuple[str, ...], ...] = CPU_QUOTA_FILES) -> float | None:
    """The cores' worth of CPU time this process's cgroup may use (`docker run --cpus`, a Kubernetes CPU
    limit), or None when unlimited or unknown."""
    for paths in files:
        try:
            fields = " ".join(Path(path).read_text() for path in paths).split()
        except OSError:
            continue
        if len(fields) == 2 and fields[0] not in ("max", "-1"):
            try:
                return max(int(fields[0]) / int(fields[1]), 0.01)
            except (ValueError, ZeroDivisionError):
                return None
        return None
    return None


def usable_cores() -> int:
    """The cores this process may run on (its affinity) and pay for (its cgroup's CPU limit, rounded up):
    `os.cpu_count()` counts a container's whole host."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = cpu_quota()
    return max(1, min(cores, math.ceil(quota))) if quota else cores


@dataclass(frozen=True)
class ServeSettings:
    """A service's settings; the defaults are `fer-serve`'s.

    Faces of concurrent requests are classified together, up to `max_batch` at a time, the first waiting
    at most `max_wait_ms` for others, and up to `batches_in_flight` such model calls run at once. Past
    `max_queue` faces admitted and not yet answered, a new request is answered 503 at once; one that takes
    longer than `timeout_s` is answered 504. Bodies over `max_body_mb` and images declaring more than
    `max_pixels` pixels are refused (413) before decoding. A connection that has not sent a request's headers
    within `header_timeout_s` is answered 408 and closed; past `max_connections` open connections (or requests
    in progress), new requests are answered 503.
    """

    model: str | None = None  # an exported .onnx graph; None: the bundled model's int8 graph
    threads: int | None = None  # ONNX Runtime intra-op threads and detection threads (None: `model_threads`)
    providers: tuple[str, ...] = ()  # ONNX Runtime execution providers, in order (empty: the CPU's)
    max_batch: int = BATCH_SIZE
    max_wait_ms: float = 2.0
    batches_in_flight: int = 2  # model calls that may run at once (the next starts while one's answers go out)
    max_queue: int = 256
    max_body_mb: float = 10.0
    max_pixels: int = 40_000_000
    timeout_s: float = 30.0
    header_timeout_s: float = 10.0
    max_connections: int = 4096
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    prior: str | None = None  # a defaults.PRIORS choice (None: the model's default; see Recognizer)
    tta: str = "none"  # "flip": each face's scores averaged with its mirror image's (see Recognizer)

    def __post_init__(self) -> None:
        checks = {
            "max_batch": self.max_batch >= 1,
            "max_wait_ms": self.max_wait_ms >= 0,
            "batches_in_flight": self.batches_in_flight >= 1,
            "max_queue": self.max_queue >= 1,
            "max_body_mb": self.max_body_mb > 0,
            "max_pixels": self.max_pixels >= 1,
            "timeout_s": self.timeout_s > 0,
            "header_timeout_s": self.header_timeout_s > 0,
            "max_connections": self.max_connections >= 1,
            "threads": self.threads is None or self.threads >= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise FerError(f"invalid serve setting(s): {', '.join(f'{n}={getattr(self, n)!r}' for n in bad)}")

    def model_threads(self) -> int:
        """`threads`, or all usable cores. Measured on 2 cores (wrk beside the server): the model on both
        answered more crops per second, one per request and in batches, than on one with a core kept for the
        HTTP loop; its threads do not busy-wait between batches, and a request past `max_queue` is turned away
        before routing (`shedding.py`), so the loop still answers at once."""
        return self.threads or usable_cores()

    def recognizer_settings(self) -> RecognizerSettings:
        """The service's recognizer: its model, threads, providers, prior and test-time augmentation, with
        batches of `max_batch` faces; its ONNX Runtime threads do not busy-wait between batches, leaving the cores
        to the event loop and the decoding threads (measured: more crops/s, one per request and in batches)."""
        return RecognizerSettings(
            model=self.model,
            threads=self.model_threads(),
            providers=self.providers,
            batch_size=self.max_batch,
            prior=self.prior,
            tta=self.tta,
            spin_wait=False,
        )

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_environment(cls) -> ServeSettings:
        """The settings `fer-serve` left in FER_SERVE_SETTINGS, or the defaults."""
        text = os.environ.get(SETTINGS_VARIABLE)
        if not text:
            return cls()
        try:
            data = json.loads(text)
            for name in ("cors_origins", "providers"):
                data[name] = tuple(data.get(name, ()))
            return cls(**data)
        except (json.JSONDecodeError, TypeError, AttributeError) as exc:
            raise FerError(f"{SETTINGS_VARIABLE} is not a fer-serve settings object ({exc})") from None
