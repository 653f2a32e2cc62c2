"""`fer-train`: a thin click layer over the fer_train library.

Each command lives in `<name>_command.py` and is imported only when it runs (or shows its own help),
so `fer-train --help` and `--version` load neither PyTorch nor matplotlib.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import import_module
from typing import Any, TypeVar

import click

from fer_runtime import __version__
from fer_runtime.cli_errors import user_errors

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["exported_model_options", "main", "user_errors", "votes_option"]

COMMANDS = {  # name: one-line help shown by `fer-train --help`
    "fit": "Train a model; checkpoints every epoch, --resume after any interruption.",
    "eval": "Score a model on a dataset (and against crowd votes).",
    "export": "Export a checkpoint to ONNX (float, int8) with its description and temperature.",
    "quantize": "Rebuild an exported model's int8 graph from its float graph.",
    "convert": "Add an exported model's graphs for other targets: ORT format (mobile), float16 (GPU).",
    "prior": "Record an exported model's class prior and its default (trained, halfway or uniform).",
    "card": "Write the model card of an exported model.",
    "eda": "Explore datasets: balance, faces, intensities, blanks, duplicates.",
    "report": "Report a model on test splits with intervals, calibration and worst errors.",
    "sweep": "Train a grid of configurations with a fixed epoch budget.",
    "compare": "Compare fit runs: recipe differences, best epochs, curves.",
}


def votes_option(
    help: str = "Crowd votes per face (CSV: `file` + one column per class): also score against the raters.",
) -> Callable[[F], F]:
    """`--votes CSV`, as every command that reads crowd votes takes it."""
    return click.option("--votes", type=click.Path(exists=True, dir_okay=False), help=help)


def exported_model_options(func: F) -> F:
    """`--export-dir DIR --name NAME`, as every command that works on an exported model takes them."""
    func = click.option("--name", required=True, help="The exported model's file stem.")(func)
    return click.option(
        "--export-dir",
        required=True,
        type=click.Path(exists=True, file_okay=False),
        help="The folder holding NAME.onnx, NAME.int8.onnx and NAME.json (e.g. exported).",
    )(func)


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        command = getattr(import_module(f"fer_train.cli.{cmd_name}_command"), f"{cmd_name}_command")
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl(list(COMMANDS.items()))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fer-train")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
def main(quiet: bool) -> None:
    """Train, evaluate and export facial-emotion CNNs."""
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s")
