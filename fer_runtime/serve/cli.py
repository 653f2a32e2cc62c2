"""`fer-serve`: run the recognizer as an HTTP service on uvicorn (a thin parser over `create_app`)."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import click

from fer_runtime import __version__
from fer_runtime.cli_errors import user_errors
from fer_runtime.cli_options import F, prior_option, provider_option, tta_option
from fer_runtime.serve.settings import ENVIRONMENT_PREFIX, PORT, SETTINGS_VARIABLE, TOKEN_VARIABLE, ServeSettings

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from fer_runtime.serve.connections import HeaderDeadline

DEFAULTS = ServeSettings()
GRACE_S = 5  # on SIGTERM, how long past the request time limit the last answers may take
SPARE_FILES = 64  # open files a process needs besides its connections (models, logs, the listening socket)


def _setting_option(flag: str, kind: click.ParamType, help: str, name: str | None = None) -> Callable[[F], F]:
    """A `ServeSettings` field as an option: `name` (default: the flag's) and its default from the settings."""
    name = name or flag.removeprefix("--").replace("-", "_")
    return click.option(flag, name, type=kind, default=getattr(DEFAULTS, name), show_default=True, help=help)


@click.command(
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": ENVIRONMENT_PREFIX},
    help=f"Serve emotion recognition over HTTP: POST an image to /v1/analyze. With {TOKEN_VARIABLE} set, /v1/* "
    "and /metrics need `Authorization: Bearer <token>`. SIGTERM stops accepting, answers every request already "
    f"received, and exits 0. Each option may instead come from the environment variable named beside it "
    f"({ENVIRONMENT_PREFIX}_ and the option's name), as a container is configured.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=PORT, show_default=True)
@click.option(
    "--model",
    type=click.Path(dir_okay=False, exists=True),
    help="An exported .onnx graph (default: the bundled model).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    help="ONNX Runtime and detection threads per process (default: all usable cores; a container's CPU limit counts).",
)
@provider_option(
    "ONNX Runtime execution provider, e.g. cpu, cuda, tensorrt, openvino (full names too; repeatable, in order of preference; default: cpu). Face detection stays on OpenCV."
)
@click.option(
    "--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Processes, each with its own model."
)
@_setting_option("--max-batch", click.IntRange(min=1), "Most faces in one model call.")
@_setting_option("--max-wait-ms", click.FloatRange(min=0), "Longest a face waits for others to share its model call.")
@_setting_option(
    "--batches-in-flight",
    click.IntRange(min=1),
    "Model calls that may run at once: the next batch starts while the last one's answers go out.",
)
@_setting_option(
    "--max-queue", click.IntRange(min=1), "Faces that may wait per process; past it, requests are answered 503 at once."
)
@_setting_option("--max-body-mb", click.FloatRange(min=0, min_open=True), "Largest request body (413 past it).")
@_setting_option(
    "--max-pixels",
    click.IntRange(min=1),
    "Largest image, in pixels its header declares (413 past it, before decoding).",
)
@_setting_option(
    "--timeout", click.FloatRange(min=0, min_open=True), "Seconds before a request is answered 504.", name="timeout_s"
)
@_setting_option(
    "--header-timeout",
    click.FloatRange(min=0, min_open=True),
    "Seconds a connection has to send a request's headers (408 and closed past it).",
    name="header_timeout_s",
)
@_setting_option(
    "--max-connections", click.IntRange(min=1), "Open connections per process; past it, new requests are answered 503."
)
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    help="Allow browsers on this origin to call the service (repeatable; default: none).",
)
@prior_option("What the scores mean (default: the model's choice); see fer-run --help.")
@tta_option("'flip' averages each face's scores with its mirror image's (the model runs twice); see fer-run --help.")
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
@click.version_option(__version__, prog_name="fer-serve")
@user_errors
def main(
    host: str,
    port: int,
    model: str | None,
    threads: int | None,
    providers: tuple[str, ...],
    workers: int,
    max_batch: int,
    max_wait_ms: float,
    batches_in_flight: int,
    max_queue: int,
    max_body_mb: float,
    max_pixels: int,
    timeout_s: float,
    header_timeout_s: float,
    max_connections: int,
    cors_origins: tuple[str, ...],
    prior: str | None,
    tta: str,
    log_level: str,
) -> None:
    try:
        from fer_runtime.serve.app import create_app
        from fer_runtime.serve.connections import HeaderDeadline  # on uvicorn and httptools
    except ImportError as exc:
        if exc.name is None:  # a compiled library could not load: a broken installation, not a missing extra
            raise click.ClickException(f"fer-serve could not load its server: {exc}") from None
        raise click.ClickException(
            f'fer-serve needs the serve extra ({exc.name} is missing): pip install "fer_runtime[serve]"'
        ) from None
    settings = ServeSettings(
        model=model,
        threads=threads,
        providers=providers,
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
        batches_in_flight=batches_in_flight,
        max_queue=max_queue,
        max_body_mb=max_body_mb,
        max_pixels=max_pixels,
        timeout_s=timeout_s,
        header_timeout_s=header_timeout_s,
        max_connections=max_connections,
        cors_origins=cors_origins,
        prior=prior,
        tta=tta,
    )
    # create_app loads the model: a bad model or setting fails here, before listening
    _listen(
        create_app(settings),
        settings,
        protocol=HeaderDeadline,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
    )


def _listen(
    app: Starlette,
    settings: ServeSettings,
    *,
    protocol: type[HeaderDeadline],
    host: str,
    port: int,
    workers: int,
    log_level: str,
) -> None:
    """Serve `app` with uvicorn (one process, or `workers` each loading its own model); exit 1 if it cannot."""
    import uvicorn

    from fer_runtime.serve.connections import raise_open_file_limit

    config: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": False,
        "timeout_graceful_shutdown": int(settings.timeout_s) + GRACE_S,
        "http": partial(protocol, header_timeout_s=settings.header_timeout_s),
        "limit_concurrency": settings.max_connections,
    }
    raise_open_file_limit(settings.max_connections + SPARE_FILES)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)  # uvicorn re-raises the stop signal after its graceful stop: exit 0
    if workers == 1:
        server = uvicorn.Server(uvicorn.Config(app, **config))
        server.run()
        if not server.started:
            sys.exit(1)
        return
    del app  # each worker process loads its own
    os.environ[SETTINGS_VARIABLE] = settings.to_json()
    uvicorn.run("fer_runtime.serve.app:create_app_from_environment", factory=True, workers=workers, **config)


for _option in main.params:  # --help names each option's environment variable
    if isinstance(_option, click.Option) and _option.expose_value:
        _option.show_envvar = True

if __name__ == "__main__":
    main()
