"""`fer-train card`."""

from __future__ import annotations

import click

from fer_train.card import write_model_card
from fer_train.cli import exported_model_options, user_errors, votes_option


@click.command("card")
@exported_model_options
@click.option(
    "--data",
    "test_sets",
    multiple=True,
    required=True,
    type=click.Path(exists=True),
    help="A test split; repeat for several.",
)
@votes_option("Crowd votes per face (CSV): also score each split against the raters.")
@click.option("--cache-dir", type=click.Path(file_okay=False))
@user_errors
def card_command(
    export_dir: str, name: str, test_sets: tuple[str, ...], votes: str | None, cache_dir: str | None
) -> None:
    """Evaluate an exported model's graphs on test splits and write its model card beside them
    (MODEL_CARD.md for the default model, NAME.MODEL_CARD.md for others)."""
    path = write_model_card(export_dir, name, test_sets, cache_dir, votes)
    click.echo(f"wrote {path}")
