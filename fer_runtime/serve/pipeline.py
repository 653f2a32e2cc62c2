"""One uploaded image → `fer-run --json`'s face records: decode, detect and crop on a pool of threads (the
recognizer keeps a detector per thread), then classify in the shared micro-batches."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from fer_runtime.errors import FerError
from fer_runtime.recognizer import Prepared, Recognizer
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


class FacePipeline:
    def __init__(self, recognizer: Recognizer, batcher: MicroBatcher, *, threads: int, max_pixels: int) -> None:
        self.recognizer, self.batcher, self.max_pixels = recognizer, batcher, max_pixels
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fer-detect")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    async def analyze(self, data: bytes, options: AnalyzeOptions, ticket: Ticket) -> list[dict[str, Any]]:
        """The image's face records; `ticket` (one unit taken for the image) grows to its face count."""
        header = read_header(data)
        if self.recognizer.is_face_crop(header.height, header.width):
            prepared = self._prepare(data, header, options)  # a crop: no detector, cheap to decode here
        else:
            loop = asyncio.get_running_loop()
            prepared = await loop.run_in_executor(self._pool, self._prepare, data, header, options)
        ticket.resize(max(1, len(prepared.detections)))
        probabilities = await self.batcher.submit(prepared.batch)
        faces = self.recognizer.finish(prepared, probabilities, min_confidence=options.min_confidence)
        return [face_record(face, options.top_k) for face in faces]

    def _prepare(self, data: bytes, header: ImageHeader, options: AnalyzeOptions) -> Prepared:
        """The image's prepared faces; 422 for an image decoded but not analysable."""
        image = decode_upload(data, self.max_pixels, header=header)
        try:
            return self.recognizer.prepare(image, detect=options.detect, detect_threshold=options.detect_threshold)
        except FerError as exc:
            raise RequestError(422, f"cannot analyze this image: {exc}") from None
