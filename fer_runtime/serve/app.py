"""The ASGI app: routes, the error contract (`{"error": ...}` with a 4xx/5xx status), bearer-token
access, timing into the metrics, and the model's life (loaded once per process, its batcher started and
stopped with the app)."""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import numpy as np
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fer_runtime.model_files import sha256_file
from fer_runtime.preprocess import model_input
from fer_runtime.recognizer import Recognizer
from fer_runtime.serve.batching import Admission, MicroBatcher
from fer_runtime.serve.errors import RequestError, error_response
from fer_runtime.serve.metrics import Metrics
from fer_runtime.serve.openapi import openapi_schema
from fer_runtime.serve.pipeline import FacePipeline
from fer_runtime.serve.reading import MAX_FILES, analyze_options, image_bodies, media_type, read_body
from fer_runtime.serve.settings import TOKEN_VARIABLE, ServeSettings
from fer_runtime.serve.shedding import LoadShedding
from fer_runtime.serve.uploads import NPY_TYPE, read_crop_stack

log = logging.getLogger("uvicorn.error")  # uvicorn's own logger, so lines share its format and level
READY_TIMEOUT_S = 2.0
ANALYZE_PATHS = ("/v1/analyze", "/v1/analyze/batch")  # the routes that take images (and are shed when full)
Endpoint = Callable[[Request], Awaitable[Response]]


class Service:
    """One process's model, batcher, admission bound and counters, and the endpoints over them."""

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        threads = settings.model_threads()
        self.recognizer = Recognizer.from_settings(settings.recognizer_settings())
        self.sha256 = sha256_file(self.recognizer.model_path)
        self.admission = Admission(settings.max_queue)
        self.metrics = Metrics(lambda: self.admission.load)
        self.batcher = MicroBatcher(
            self.recognizer.probabilities,
            max_batch=settings.max_batch,
            max_wait_s=settings.max_wait_ms / 1000,
            in_flight=settings.batches_in_flight,
            on_batch=self.metrics.batch,
        )
        self.pipeline = FacePipeline(
            self.recognizer,
            self.batcher,
            threads=threads,
            max_pixels=settings.max_pixels,
        )
        self.token = os.environ.get(TOKEN_VARIABLE) or None

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        description = self.recognizer.description
        log.info(
            "fer-serve: model %s (%s, sha256 %s), classes %s; batches of up to %d faces, %d faces may wait",
            description.name,
            self.recognizer.model_path,
            self.sha256,
            ", ".join(description.classes),
            self.settings.max_batch,
            self.settings.max_queue,
        )
        self.batcher.start()
        try:
            yield
        finally:
            await self.batcher.stop()
            self.pipeline.close()

    def guarded(self, endpoint: Endpoint, *, private: bool = True, timed: bool = True) -> Endpoint:
        """The endpoint behind the token check (when `private`), the time limit (when `timed`) and the
        error contract: a RequestError becomes its status and `{"error": ...}`."""

        async def run(request: Request) -> Response:
            try:
                if private:
                    self._authorize(request)
                if not timed:
                    return await endpoint(request)
                return await asyncio.wait_for(endpoint(request), self.settings.timeout_s)
            except RequestError as exc:
                return error_response(exc.status, str(exc), exc.headers)
            except asyncio.TimeoutError:
                return error_response(504, f"no answer within {self.settings.timeout_s:g} s")

        return run

    def _authorize(self, request: Request) -> None:
        if self.token is None:
            return
        given = request.headers.get("authorization", "")
        scheme, _, credentials = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(credentials.encode(), self.token.encode()):
            raise RequestError(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})

    # A request is turned away (503) before its body is read when the service is full, and admitted only once
    # the body is in: a client that sends its body slowly holds a connection, never a place in the queue.
    async def analyze(self, request: Request) -> Response:
        options = analyze_options(request.query_params.multi_items())
        self.admission.check()
        [data] = await image_bodies(request, self.settings.max_body_bytes, many=False)
        with self.admission.take() as ticket:
            return JSONResponse({"faces": await self.pipeline.analyze(data, options, ticket)})

    async def analyze_batch(self, request: Request) -> Response:
        options = analyze_options(request.query_params.multi_items())
        self.admission.check()
        if media_type(request) == NPY_TYPE:
            body = await read_body(request, self.settings.max_body_bytes)
            crops = read_crop_stack(body, max_crops=MAX_FILES, max_pixels=self.settings.max_pixels)
            with self.admission.take(len(crops)):
                faces = await self.pipeline.analyze_crops(crops, options)
            return JSONResponse({"images": [{"faces": f} for f in faces]})
        images = await image_bodies(request, self.settings.max_body_bytes, many=True)
        with self.admission.take(len(images)) as ticket:
            answers = await self.pipeline.analyze_many(images, options, ticket)
        return JSONResponse(
            {
                "images": [
                    {"error": str(a), "status": a.status} if isinstance(a, RequestError) else {"faces": a}
                    for a in answers
                ]
            }
        )

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(self, request: Request) -> Response:
        """Ready when the model answers a blank face through the batcher within a short time (beyond the
        longest a lone face waits there for company, `--max-wait-ms`)."""
        spec = self.recognizer.spec
        probe = model_input(np.zeros((1, spec.height, spec.width), np.uint8), spec)
        timeout = READY_TIMEOUT_S + self.settings.max_wait_ms / 1000
        try:
            await asyncio.wait_for(self.batcher.submit(probe), timeout)
        except asyncio.TimeoutError:
            raise RequestError(503, f"the model did not answer within {timeout:g} s") from None
        return JSONResponse({"status": "ready", "model": self.recognizer.description.name})

    async def model(self, request: Request) -> Response:
        description = self.recognizer.description
        return JSONResponse(
            {
                "name": description.name,
                "classes": list(description.classes),
                "input": description.to_dict()["input"],
                "temperature": description.temperature,
                "prior": self.recognizer.prior,
                "tta": self.recognizer.tta,
                "file": self.recognizer.model_path.name,
                "sha256": self.sha256,
                "description": description.to_dict(),
            }
        )

    async def metrics_text(self, request: Request) -> Response:
        return PlainTextResponse(self.metrics.render(), media_type="text/plain; version=0.0.4")

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_schema(self.recognizer.classes, self.token is not None))

    def routes(self) -> list[Route]:
        public, private = {"private": False, "timed": False}, {"private": True, "timed": False}
        return [
            Route(ANALYZE_PATHS[0], self.guarded(self.analyze), methods=["POST"]),
            Route(ANALYZE_PATHS[1], self.guarded(self.analyze_batch), methods=["POST"]),
            Route("/v1/model", self.guarded(self.model, **private), methods=["GET"]),
            Route("/healthz", self.guarded(self.healthz, **public), methods=["GET"]),
            Route("/readyz", self.guarded(self.readyz, **public), methods=["GET"]),
            Route("/metrics", self.guarded(self.metrics_text, **private), methods=["GET"]),
            Route("/openapi.json", self.guarded(self.openapi, **public), methods=["GET"]),
        ]


class MetricsMiddleware:
    """Counts every answer (routing's 404/405 included) by route and status, with its latency."""

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: set[str]) -> None:
        self.app, self.metrics, self.routes = app, metrics, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope["path"] if scope["path"] in self.routes else "other"
            self.metrics.request(route, status, time.perf_counter() - start)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
    return error_response(status, str(detail), getattr(exc, "headers", None))


def create_app(settings: ServeSettings | None = None) -> Starlette:
    """The service as an ASGI app (for uvicorn: `uvicorn --factory fer_runtime.serve:create_app`). The
    model is loaded here, so a bad model or setting fails before the server listens."""
    service = Service(settings or ServeSettings())
    routes = service.routes()
    middleware = [Middleware(MetricsMiddleware, metrics=service.metrics, routes={r.path for r in routes})]
    if service.settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(service.settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type"],
            )
        )
    middleware.append(Middleware(LoadShedding, admission=service.admission, paths=set(ANALYZE_PATHS)))
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=service.lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _http_error},
    )
    app.state.service = service
    return app


def create_app_from_environment() -> Starlette:
    """`fer-serve --workers N`'s factory: each process reads the settings `fer-serve` left in the environment."""
    return create_app(ServeSettings.from_environment())
