"""`fer-train quantize`."""

from __future__ import annotations

import click

from fer_train.cli import exported_model_options, user_errors
from fer_train.parity import format_parity
from fer_train.requantize import requantize


@click.command("quantize")
@exported_model_options
@click.option(
    "--calib",
    type=click.Path(exists=True),
    help="Reliability data (default: what the model was last calibrated or trained on, when here).",
)
@click.option(
    "--check",
    type=click.Path(exists=True),
    help="Hold the new int8 graph to export's limits on this data (default: the data of its recorded parity).",
)
@click.option("--allow-int8-drop", is_flag=True, help="Keep an int8 graph that fails the limits.")
@click.option("--cache-dir", type=click.Path(file_okay=False))
@user_errors
def quantize_command(
    export_dir: str, name: str, calib: str | None, check: str | None, allow_int8_drop: bool, cache_dir: str | None
) -> None:
    """Rebuild NAME.int8.onnx from NAME.onnx with today's quantization settings (no checkpoint needed) and
    update NAME.json."""
    description = requantize(
        export_dir=export_dir,
        name=name,
        calib=calib,
        check=check,
        allow_int8_drop=allow_int8_drop,
        cache_dir=cache_dir,
    )
    click.echo(f"wrote {export_dir}/{description.graph_file('int8')} and {export_dir}/{name}.json")
    if description.parity:
        click.echo(format_parity(description.parity))
