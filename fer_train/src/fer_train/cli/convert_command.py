"""`fer-train convert`."""

from __future__ import annotations

import click

from fer_train.cli import exported_model_options, user_errors
from fer_train.derived_graphs import DERIVED, convert


@click.command("convert")
@exported_model_options
@click.option(
    "--to",
    "kinds",
    multiple=True,
    required=True,
    type=click.Choice(DERIVED),
    help="ort: NAME.int8.ort (ORT Mobile, minimal builds) with its operator config; fp16: NAME.fp16.onnx "
    "(CUDA, TensorRT). Repeat for both.",
)
@user_errors
def convert_command(export_dir: str, name: str, kinds: tuple[str, ...]) -> None:
    """Add graphs for other targets to an exported model, made from its int8 or float graph (no checkpoint
    needed), each checked against its source, and update NAME.json."""
    description = convert(export_dir=export_dir, name=name, kinds=tuple(dict.fromkeys(kinds)))
    for kind in dict.fromkeys(kinds):
        click.echo(f"wrote {export_dir}/{description.graph_file(kind)}")
    click.echo(f"wrote {export_dir}/{name}.json")
