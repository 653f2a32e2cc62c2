"""Micro-batching: the faces of requests that arrive together are classified in one model call.

Requests `submit` their prepared faces and await their own probabilities. One task cuts the queue into
batches of at most `max_batch` faces, as soon as a batch is full or its first face has waited
`max_wait_s`, and runs each on a worker thread, off the event loop, with up to `in_flight` batches running at
once: the next batch is cut and started while the loop hands out the last one's answers (the idea of Ray
Serve's `@serve.batch` and Triton's dynamic batching). `Admission` bounds the faces admitted and not yet
answered: past the bound a request is turned away at once instead of queueing without end.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from fer_runtime.serve.errors import RequestError

RETRY_AFTER_S = 1  # what a turned-away client is told to wait


class Admission:
    """Counts the faces (or images not yet searched for faces) that the service has taken on."""

    def __init__(self, limit: int) -> None:
        self.limit, self.load = limit, 0

    def refusal(self) -> RequestError | None:
        """The 503 (with Retry-After) a new request gets when the service already holds its limit, else None."""
        if self.load < self.limit:
            return None
        return RequestError(
            503, f"busy: {self.load} faces waiting (limit {self.limit})", {"Retry-After": str(RETRY_AFTER_S)}
        )

    def check(self) -> None:
        """Raise `refusal()`, if any."""
        refused = self.refusal()
        if refused is not None:
            raise refused

    def take(self, units: int = 1) -> Ticket:
        """Take on `units` more, or raise 503 (`check`)."""
        self.check()
        return Ticket(self, units)


class Ticket:
    """The units one request holds; given back when the request ends (`with`)."""

    def __init__(self, admission: Admission, units: int) -> None:
        self._admission, self.units = admission, units
        admission.load += units

    def resize(self, units: int) -> None:
        """The request turned out to hold `units` (an image's faces, once found)."""
        self._admission.load += units - self.units
        self.units = units

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *_: object) -> None:
        self._admission.load -= self.units
        self.units = 0


@dataclass
class _Waiting:
    batch: np.ndarray  # prepared faces [n, C, H, W]
    future: asyncio.Future[np.ndarray]
    since: float = field(default=0.0)


class MicroBatcher:
    """Queue prepared face batches, run them through `run` ([N, C, H, W] → [N, K]) in batches."""

    def __init__(
        self,
        run: Callable[[np.ndarray], np.ndarray],
        *,
        max_batch: int,
        max_wait_s: float,
        in_flight: int = 1,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._run, self.max_batch, self.max_wait_s, self._on_batch = run, max_batch, max_wait_s, on_batch
        self._queue: deque[_Waiting] = deque()
        self._arrived = asyncio.Event()
        self._worker = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="fer-classify")
        self._free = asyncio.Semaphore(in_flight)  # places for batches running
        self._running: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None

    @property
    def queued_faces(self) -> int:
        return sum(len(w.batch) for w in self._queue)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._serve())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, *self._running, return_exceptions=True)
        self._worker.shutdown(wait=True)

    async def submit(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities for `batch`, computed beside other requests' faces."""
        if not len(batch):
            return np.zeros((0, 0))
        if self._task is None or self._task.done():
            raise RequestError(503, "the model is not running (the server is starting or stopping)")
        loop = asyncio.get_running_loop()
        waiting = _Waiting(batch, loop.create_future(), loop.time())
        self._queue.append(waiting)
        self._arrived.set()
        return await waiting.future

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._free.acquire()  # a batch may start: fewer than `in_flight` are running
            await self._next_batch_ready(loop)
            taken = self._take()
            if not taken:
                self._free.release()
                continue
            batch = np.concatenate([w.batch for w in taken]) if len(taken) > 1 else taken[0].batch
            if self._on_batch is not None:
                self._on_batch(len(batch))
            answering = loop.create_task(self._answer(taken, batch))
            self._running.add(answering)
            answering.add_done_callback(self._running.discard)

    async def _answer(self, taken: list[_Waiting], batch: np.ndarray) -> None:
        """Run `batch` on a worker thread and give each request its rows (or the model's failure)."""
        try:
            probabilities = await asyncio.get_running_loop().run_in_executor(self._worker, self._run, batch)
        except Exception as exc:  # a model failure answers the requests of this batch, not the server
            for w in taken:
                if not w.future.done():
                    w.future.set_exception(RequestError(500, f"the model failed: {exc}"))
            return
        finally:
            self._free.release()
        start = 0
        for w in taken:
            if not w.future.done():  # a request that timed out has gone
                w.future.set_result(probabilities[start : start + len(w.batch)])
            start += len(w.batch)

    async def _next_batch_ready(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wait for a first face, then until `max_batch` are queued or the first has waited `max_wait_s`."""
        while not self._queue:
            self._arrived.clear()
            await self._arrived.wait()
        while self.queued_faces < self.max_batch:
            left = self._queue[0].since + self.max_wait_s - loop.time()
            if left <= 0:
                return
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except asyncio.TimeoutError:
                return

    def _take(self) -> list[_Waiting]:
        """Whole requests from the front of the queue, up to `max_batch` faces (a larger request alone)."""
        taken: list[_Waiting] = []
        faces = 0
        while self._queue:
            head = self._queue[0]
            if head.future.done():
                self._queue.popleft()
                continue
            if taken and faces + len(head.batch) > self.max_batch:
                break
            taken.append(self._queue.popleft())
            faces += len(head.batch)
        return taken
