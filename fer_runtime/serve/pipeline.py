"""Uploaded images → `fer-run --json`'s face records: crops decoded on the event loop, photos decoded, searched
and cropped on a pool of threads (the recognizer keeps a detector per thread), then the faces of a request's
images classified together in the shared micro-batches (`Recognizer.prepare`, then `finish`); a stack of crops
sent as one array skips the decoding (`Recognizer.prepare_crops`)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from fer_runtime.errors import FerError
from fer_runtime.recognizer import Prepared, Recognizer, joined_batch
from fer_runtime.results import face_record
from fer_runtime.serve.batching import MicroBatcher, Ticket
from fer_runtime.serve.errors import RequestError
from fer_runtime.serve.uploads import ImageHeader, decode_upload, read_header


@dataclass(frozen=True)
class AnalyzeOptions:
    """A request's options, as `fer-run`'s: None keeps the server's own."""

    min_confidence: float | None = None
    top_k: int | None = None
    detect_threshold: float | None = None
    detect: bool = True


FaceRecord = dict[str, Any]  # `fer-run --json`'s record of one face (`results.face_record`)


class FacePipeline:
    def __init__(self, recognizer: Recognizer, batcher: MicroBatcher, *, threads: int, max_pixels: int) -> None:
        self.recognizer, self.batcher, self.max_pixels = recognizer, batcher, max_pixels
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fer-detect")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    async def analyze(self, data: bytes, options: AnalyzeOptions, ticket: Ticket) -> list[FaceRecord]:
        """The image's face records; `ticket` (a unit taken for the image) grows to its face count."""
        [answer] = await self.analyze_many([data], options, ticket)
        if isinstance(answer, RequestError):
            raise answer
        return answer

    async def analyze_many(
        self, images: list[bytes], options: AnalyzeOptions, ticket: Ticket
    ) -> list[list[FaceRecord] | RequestError]:
        """Each image's face records, or the 4xx `RequestError` that image alone gets; the faces of all of them
        go to the batcher together. `ticket` (a unit taken for each image) becomes their face count."""
        loop = asyncio.get_running_loop()
        started = [self._start(data, options, loop) for data in images]
        prepared = [await self._finished(p) if isinstance(p, asyncio.Future) else p for p in started]
        ready = [p for p in prepared if isinstance(p, Prepared)]
        ticket.resize(max(1, sum(len(p.detections) for p in ready)))
        records = iter(await self._records(ready, options))
        return [p if isinstance(p, RequestError) else next(records) for p in prepared]

    async def analyze_crops(self, crops: np.ndarray, options: AnalyzeOptions) -> list[list[FaceRecord]]:
        """Each crop's face record, a list of one: a stack of face crops (`uploads.read_crop_stack`), each a face
        that fills it, prepared as one batch (on the event loop when they are crop-sized, else on the pool)."""
        if self.recognizer.is_face_crop(*crops.shape[1:3]):
            prepared = self.recognizer.prepare_crops(crops)
        else:
            loop = asyncio.get_running_loop()
            prepared = await loop.run_in_executor(self._pool, self.recognizer.prepare_crops, crops)
        return await self._records(prepared, options)

    async def _records(self, prepared: list[Prepared], options: AnalyzeOptions) -> list[list[FaceRecord]]:
        """The prepared images' faces classified together in the shared micro-batches, as records."""
        if not prepared:
            return []
        probabilities = await self.batcher.submit(joined_batch(prepared))
        faces = self.recognizer.finish_all(prepared, probabilities, min_confidence=options.min_confidence)
        return [[face_record(face, options.top_k) for face in image] for image in faces]

    def _start(
        self, data: bytes, options: AnalyzeOptions, loop: asyncio.AbstractEventLoop
    ) -> Prepared | RequestError | asyncio.Future[Prepared]:
        """A crop prepared here (cheap to decode, no detector), a photo sent to the pool, or the image's 4xx."""
        try:
            header = read_header(data)
            if self.recognizer.is_face_crop(header.height, header.width):
                return self._prepare(data, header, options)
        except RequestError as exc:
            return exc
        return loop.run_in_executor(self._pool, self._prepare, data, header, options)

    @staticmethod
    async def _finished(future: asyncio.Future[Prepared]) -> Prepared | RequestError:
        try:
            return await future
        except RequestError as exc:
            return exc

    def _prepare(self, data: bytes, header: ImageHeader, options: AnalyzeOptions) -> Prepared:
        """The image's prepared faces; 422 for an image decoded but not analysable."""
        image = decode_upload(data, self.max_pixels, header=header)
        try:
            return self.recognizer.prepare(image, detect=options.detect, detect_threshold=options.detect_threshold)
        except FerError as exc:
            raise RequestError(422, f"cannot analyze this image: {exc}") from None
