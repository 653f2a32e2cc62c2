"""`fer-train export`."""

from __future__ import annotations

import click

from fer_runtime.defaults import PRIORS, prior_choices_help
from fer_train.cli import user_errors, votes_option
from fer_train.export import export_checkpoint, format_temperature
from fer_train.parity import format_parity


@click.command("export")
@click.option(
    "--model",
    "checkpoint",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The checkpoint to export (e.g. runs/NAME/best.pt).",
)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--name", default="model", show_default=True, help="File stem: NAME.onnx, NAME.int8.onnx, NAME.json.")
@click.option("--quantize", is_flag=True, help="Also write an int8 graph (static QDQ, per-channel).")
@click.option(
    "--calib",
    type=click.Path(exists=True),
    help="Reliability data (default: a fixed sample of the checkpoint's training data).",
)
@click.option(
    "--val",
    type=click.Path(exists=True),
    help="Data to fit the probability temperature on (default: the run's validation data, if here).",
)
@votes_option("Fit the temperature against these crowd votes (default: the run's votes, if here), not the labels.")
@click.option(
    "--default-prior",
    type=click.Choice(list(PRIORS)),
    default="trained",
    show_default=True,
    help="What the model's scores mean unless the runtime is told (fer-run --prior; the class shares are recorded "
    "in the description): " + prior_choices_help() + " The temperature is fitted for this choice.",
)
@click.option(
    "--check",
    type=click.Path(exists=True),
    help="Accuracy parity on this data (e.g. Test_250.zip): PyTorch, ONNX float and int8 scored side by side.",
)
@click.option("--fp16", is_flag=True, help="Also write NAME.fp16.onnx, a float16 graph for CUDA and TensorRT.")
@click.option("--allow-int8-drop", is_flag=True, help="Keep an int8 graph that fails the accuracy limits.")
@click.option("--cache-dir", type=click.Path(file_okay=False))
@user_errors
def export_command(
    checkpoint: str,
    out: str,
    name: str,
    quantize: bool,
    calib: str | None,
    val: str | None,
    votes: str | None,
    check: str | None,
    allow_int8_drop: bool,
    cache_dir: str | None,
    default_prior: str,
    fp16: bool,
) -> None:
    """Export a checkpoint: BatchNorm folded, onnxsim, checked against PyTorch on a probe batch, a fitted
    temperature, optional int8 and float16, the ORT format for ORT Mobile, and the model description in each graph
    and beside them."""
    result = export_checkpoint(
        checkpoint,
        out,
        name,
        quantize=quantize,
        calib=calib,
        check=check,
        allow_int8_drop=allow_int8_drop,
        cache_dir=cache_dir,
        val=val,
        votes=votes,
        default_prior=default_prior,
        fp16=fp16,
    )
    for path in (result.float_path, result.int8_path, *result.derived, result.json_path):
        if path is not None:
            click.echo(f"wrote {path}")
    click.echo(format_temperature(result.description))
    if result.description.parity:
        click.echo(format_parity(result.description.parity))
