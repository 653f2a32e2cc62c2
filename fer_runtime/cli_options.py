"""Options that several command lines share (`fer-run`, `fer-serve`, `fer-train eval`): one definition of each
choice and its default, each command with its own help line; and the per-request options of `request_options`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from fer_runtime.defaults import PRIORS, TTA
from fer_runtime.request_options import RequestOption

F = TypeVar("F", bound=Callable[..., Any])


def prior_option(help: str) -> Callable[[F], F]:
    """`--prior` (a PRIORS choice), None when not given (the model's recorded choice)."""
    return click.option("--prior", type=click.Choice(list(PRIORS)), help=help)


def provider_option(help: str) -> Callable[[F], F]:
    """`--provider NAME` (repeatable, in order of preference), an empty tuple when not given (the CPU's)."""
    return click.option("--provider", "providers", multiple=True, metavar="NAME", help=help)


def tta_option(help: str) -> Callable[[F], F]:
    """`--tta none|flip`, default none."""
    return click.option("--tta", type=click.Choice(TTA), default=TTA[0], show_default=True, help=help)


def request_option(option: RequestOption) -> Callable[[F], F]:
    """A per-request option (`request_options`) as a click option: its flag, kind, range, default and help."""
    if option.kind is bool:
        return click.option(option.flag, is_flag=True, help=option.help)
    low, high, open_low, open_high = option.low, option.high, option.open_low, option.open_high
    kind: click.ParamType
    if option.kind is int:
        kind = click.IntRange(
            None if low is None else int(low), None if high is None else int(high), open_low, open_high
        )
    else:
        kind = click.FloatRange(low, high, open_low, open_high)
    shown = option.default is not None
    return click.option(option.flag, type=kind, default=option.default, show_default=shown, help=option.help)
