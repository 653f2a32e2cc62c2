"""`requantize`: rebuild an exported model's int8 graph from its float graph with today's quantization
settings, with no checkpoint: for shipped models whose int8 graph predates a fix (`fer-train quantize`)."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from fer_runtime.errors import FerError
from fer_runtime.model_files import ModelDescription
from fer_train.data import load_with_votes
from fer_train.data_root import existing, record
from fer_train.derived_graphs import derived_in, stage_derived
from fer_train.onnx_graph import embed_all, publish, read_exported
from fer_train.parity import enforce, int8_parity
from fer_train.quantize import CALIBRATION_SIZE, calibration_sample, quantization_record, quantize_int8
from fer_train.votes import VoteTable, read_votes


def _recorded_calibration(description: ModelDescription) -> str | None:
    """The data the model's int8 graph, or else its training, was calibrated on, if it is here."""
    quantized = ((description.quantization or {}).get("calibration") or {}).get("data")
    trained = (description.provenance.get("data") or {}).get("path")
    return next((path for path in map(existing, (quantized, trained)) if path), None)


def _recorded_votes(description: ModelDescription) -> VoteTable | None:
    """The votes the model was trained with, if they are here: the class of a face in a class without a folder
    (FER+'s contempt), as export took it."""
    here = existing((description.provenance.get("votes") or {}).get("path"))
    return read_votes(here, description.spec.classes) if here else None


def requantize(
    *,
    export_dir: str | os.PathLike[str],
    name: str,
    calib: str | None = None,
    check: str | None = None,
    allow_int8_drop: bool = False,
    cache_dir: str | None = None,
) -> ModelDescription:
    """Write `export_dir/name.int8.onnx` anew from `name.onnx`, calibrated on `calib` (default: the data
    recorded for its last calibration or its training), and update `name.json`. With `check` (default: the
    data of its recorded parity, when here) the new graph is held to export's int8 limits first. The graphs made from it
    (the ORT format) are made anew."""
    folder = Path(export_dir)
    float_path = folder / f"{name}.onnx"
    description = read_exported(folder, name)
    calib = calib or _recorded_calibration(description)
    if calib is None:
        raise FerError("the data this model was calibrated or trained on is not here; pass --calib DATA")
    spec = description.spec
    votes = _recorded_votes(description)
    calibration = load_with_votes(calib, spec, cache_dir, votes)
    pixels = calibration_sample(calibration.pixels, calibration.paths, CALIBRATION_SIZE)
    recorded_check = (description.parity or {}).get("data")
    check = check or existing(recorded_check)
    quantization = {**quantization_record(record(calib), len(pixels)), "requantized_at": _now()}
    updated = replace(description, quantization=quantization)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".requantize-") as tmp:
        staged = {"float": Path(tmp) / float_path.name, "int8": Path(tmp) / f"{name}.int8.onnx"}
        shutil.copyfile(float_path, staged["float"])
        quantize_int8(staged["float"], staged["int8"], description.input_name, pixels, spec)
        embed_all(updated, staged)
        details = stage_derived(updated, staged, derived_in(description))
        if check is not None:
            parity = int8_parity(staged["float"], staged["int8"], load_with_votes(check, spec, cache_dir, votes))
            enforce(parity, allow_int8_drop)
            updated = replace(updated, parity={**(description.parity or {}), "data": record(check), **parity})
        updated = publish(folder, updated, staged, details)
    return updated


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
