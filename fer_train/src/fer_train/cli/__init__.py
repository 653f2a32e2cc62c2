"""`fer-train`: a thin click layer over the fer_train library."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from fer_runtime import __version__
from fer_runtime.errors import FerError

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(func: F) -> F:
    """Turn the library's FerError into click's one-line error and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FerError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fer-train")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
def main(quiet: bool) -> None:
    """Train, evaluate and export facial-emotion CNNs."""
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s")


def _register() -> None:
    from fer_train.cli.card_command import card_command
    from fer_train.cli.compare_command import compare_command
    from fer_train.cli.eda_command import eda_command
    from fer_train.cli.eval_command import eval_command
    from fer_train.cli.export_command import export_command
    from fer_train.cli.fit_command import fit_command
    from fer_train.cli.report_command import report_command
    from fer_train.cli.sweep_command import sweep_command

    for command in (fit_command, eval_command, export_command, card_command, eda_command,
                    report_command, sweep_command, compare_command):
        main.add_command(command)


_register()
