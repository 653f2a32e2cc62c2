"""The one error style of both command lines (`fer-run`, `fer-train`): `Error: <one line>` on stderr and
exit status 1 for a problem the user can fix; a usage mistake is click's own message and status 2."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from fer_runtime.errors import FerError

F = TypeVar("F", bound=Callable[..., Any])


def report_error(message: str) -> None:
    """Print one error line without stopping (for one failed input among several)."""
    click.echo(f"Error: {message}", err=True)


def user_errors(func: F) -> F:
    """Turn the library's FerError into click's one-line error and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FerError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]
