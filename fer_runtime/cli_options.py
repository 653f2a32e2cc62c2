"""Options that several command lines share (`fer-run`, `fer-serve`, `fer-train eval`): one definition of each
choice and its default, each command with its own help line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from fer_runtime.defaults import PRIORS, TTA

F = TypeVar("F", bound=Callable[..., Any])


def prior_option(help: str) -> Callable[[F], F]:
    """`--prior trained|uniform`, None when not given (the model's recorded choice)."""
    return click.option("--prior", type=click.Choice(list(PRIORS)), help=help)


def provider_option(help: str) -> Callable[[F], F]:
    """`--provider NAME` (repeatable, in order of preference), an empty tuple when not given (the CPU's)."""
    return click.option("--provider", "providers", multiple=True, metavar="NAME", help=help)


def tta_option(help: str) -> Callable[[F], F]:
    """`--tta none|flip`, default none."""
    return click.option("--tta", type=click.Choice(TTA), default=TTA[0], show_default=True, help=help)
