"""`fer-train prior`."""

from __future__ import annotations

import click

from fer_runtime.defaults import PRIORS, prior_choices_help
from fer_train.cli import exported_model_options, user_errors
from fer_train.prior import describe, set_prior


@click.command("prior")
@exported_model_options
@click.option(
    "--default",
    "default",
    required=True,
    type=click.Choice(list(PRIORS)),
    help="What the scores mean unless the runtime is told (fer-run --prior): " + prior_choices_help(),
)
@click.option("--cache-dir", type=click.Path(file_okay=False))
@user_errors
def prior_command(export_dir: str, name: str, default: str, cache_dir: str | None) -> None:
    """Record an exported model's class prior (its training targets' class shares, rebuilt from its recipe's
    data when not yet recorded) and its default, in NAME.json and both graphs."""
    description = set_prior(export_dir=export_dir, name=name, default=default, cache_dir=cache_dir)
    assert description.prior is not None
    click.echo(f"{name}: {describe(description.prior)}")
