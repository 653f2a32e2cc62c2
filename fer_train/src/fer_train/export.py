"""`export_checkpoint`: checkpoint → class prior recorded → folded → ONNX → onnxsim → checked against PyTorch
→ temperature and face framing (`export_fits`) → (int8) → the graphs for other targets (`derived_graphs`) →
(accuracy parity) → description in each graph and beside them, in named steps.

Everything is written into a temporary folder inside the output folder and moved into place
only when every check passed, so an export never leaves half-written files behind.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from fer_runtime import __version__
from fer_runtime.class_prior import ClassPrior, power_of
from fer_runtime.errors import FerError
from fer_runtime.model_files import ModelDescription
from fer_runtime.session import create_session
from fer_runtime.spec import PreprocessSpec
from fer_train.checkpoint import LoadedModel, load_model
from fer_train.data import load_with_votes
from fer_train.data_root import existing, record
from fer_train.derived_graphs import stage_derived
from fer_train.epoch_record import EpochRecord
from fer_train.export_fits import fit_temperature_on, measure_framing_on
from fer_train.fold import fold_batchnorm
from fer_train.onnx_graph import INPUT_NAME, OPSET, OUTPUT_NAME, count_ops, embed_all, onnx_export, publish, simplify
from fer_train.parity import FLOAT_TOLERANCE, enforce, float_parity, int8_parity
from fer_train.predict import predict_logits
from fer_train.prior import describe, prior_offset, recorded_prior
from fer_train.quantize import CALIBRATION_SIZE, calibration_sample, quantization_record, quantize_int8
from fer_train.votes import VoteTable, read_votes

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class ExportResult:
    float_path: Path
    int8_path: Path | None
    json_path: Path
    description: ModelDescription
    derived: tuple[Path, ...]  # the ORT-format graph (ORT Mobile), the float16 one when asked for


@dataclass(frozen=True)
class _Prepared:
    """The model as it will be exported: BatchNorm folded, the temperature fitted, the framing measured."""

    loaded: LoadedModel  # before folding (the reference the graph is checked against)
    folded: nn.Module
    spec: PreprocessSpec  # with the landmark template measured on the validation faces
    temperature: float
    fitted: dict[str, Any] | None
    framing: dict[str, Any] | None
    prior: ClassPrior | None  # the description's class prior: training shares and the default choice


def _probe_batch(spec: PreprocessSpec) -> torch.Tensor:
    """The fixed random batch that BatchNorm folding and the ONNX graph are checked on."""
    return torch.randn(8, spec.channels, spec.height, spec.width, generator=torch.Generator().manual_seed(0))


def _probe_check(model: nn.Module, path: Path, spec: PreprocessSpec) -> float:
    """Max |Δlogit| between ONNX Runtime and PyTorch on a fixed random batch; FerError above the tolerance."""
    probe = _probe_batch(spec)
    with torch.inference_mode():
        expected = model(probe).numpy()
    session = create_session(path)
    drift = float(np.abs(session.run([OUTPUT_NAME], {INPUT_NAME: probe.numpy()})[0] - expected).max())
    if drift > FLOAT_TOLERANCE:
        raise FerError(
            f"{path.name}: ONNX Runtime differs from PyTorch by {drift:.2e} on the probe batch (> {FLOAT_TOLERANCE})"
        )
    return drift


def _recorded(loaded: LoadedModel, key: str) -> str | None:
    """A path the checkpoint's run recorded (training data, val, votes), if it exists here."""
    entry = loaded.checkpoint.get("provenance", {}).get(key) or {}
    return existing(entry.get("path"))


def _calibration_pixels(
    loaded: LoadedModel, calib: str | None, votes: VoteTable | None, cache_dir: str | None
) -> tuple[np.ndarray, str]:
    calib = calib or _recorded(loaded, "data")
    if calib is None:
        raise FerError("the training data recorded in the checkpoint is not here; pass --calib DATA")
    dataset = load_with_votes(calib, loaded.spec, cache_dir, votes)
    return calibration_sample(dataset.pixels, dataset.paths, CALIBRATION_SIZE), str(calib)


def _provenance(loaded: LoadedModel, checkpoint: str | os.PathLike[str], probe_drift: float) -> dict[str, Any]:
    history = [EpochRecord.from_json(record) for record in loaded.checkpoint.get("history", [])]
    best = loaded.checkpoint.get("best", {})
    kept = next((h for h in history if h.epoch == best.get("epoch")), None)
    return {
        **loaded.checkpoint.get("provenance", {}),
        "checkpoint": Path(checkpoint).name,
        "epochs_trained": loaded.checkpoint.get("epoch"),
        "train_wall_seconds": round(sum(h.epoch_seconds or 0.0 for h in history), 1),
        "train_threads": sorted({h.threads for h in history if h.threads is not None}),
        "recipe": loaded.checkpoint.get("config"),
        "best_epoch": best.get("epoch"),
        "validation": kept.to_json() if kept is not None else None,
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "fer_version": __version__,
        "torch_version": torch.__version__,
        "opset": OPSET,
        "probe_max_abs_logit_diff": probe_drift,
    }


def _class_prior(loaded: LoadedModel, default_prior: str, cache_dir: str | None) -> ClassPrior | None:
    """The training targets' class shares, the power of them the graph already divides out (1 after balanced
    class weights), and the default choice; None when the run's recipe or training data is not here and the
    default needs no shares."""
    try:
        return recorded_prior(loaded.checkpoint.get("config"), loaded.spec, cache_dir, default_prior)
    except FerError as exc:
        if default_prior != "trained":
            raise
        log.info("no class prior recorded (%s): the model gives its trained posterior", exc)
        return None


def _prepare(
    loaded: LoadedModel, *, val: str | None, votes: VoteTable | None, default_prior: str, cache_dir: str | None
) -> _Prepared:
    """Fit the temperature (for the default prior's probabilities), fold BatchNorm (checked on the probe
    batch), and measure the face framing."""
    spec, probe = loaded.spec, _probe_batch(loaded.spec)
    prior = _class_prior(loaded, default_prior, cache_dir)
    offset = None  # the default prior's probabilities: softmax(logits / T - offset)
    if prior is not None:
        offset = prior_offset(prior.array(spec.classes), -prior.power_for(default_prior))
    temperature, fitted = fit_temperature_on(loaded, val, votes, cache_dir, offset)
    fitted = None if fitted is None else {**fitted, "prior": default_prior}  # the probabilities it was fitted for
    folded = fold_batchnorm(loaded.model)
    with torch.inference_mode():
        drift = float((folded(probe) - loaded.model(probe)).abs().max())
    if drift > FLOAT_TOLERANCE:
        raise FerError(f"BatchNorm folding changed the logits by {drift:.2e} (> {FLOAT_TOLERANCE})")
    spec, framing = measure_framing_on(loaded, val, cache_dir)
    return _Prepared(loaded, folded, spec, temperature, fitted, framing, prior)


def _write_float(prepared: _Prepared, path: Path) -> float:
    """The float graph: exported, simplified, free of BatchNorm, equal to PyTorch on the probe batch."""
    onnx_export(prepared.folded, prepared.spec, path)
    simplify(path)
    if count_ops(path, "BatchNormalization"):
        raise FerError("the float graph still holds BatchNormalization nodes")
    return _probe_check(prepared.loaded.model, path, prepared.spec)


def _parity(
    prepared: _Prepared,
    graphs: dict[str, Path],
    check: str,
    votes: VoteTable | None,
    cache_dir: str | None,
) -> dict[str, Any]:
    dataset = load_with_votes(check, prepared.spec, cache_dir, votes)
    float_path, int8_path = graphs["float"], graphs.get("int8")
    reference = predict_logits(prepared.loaded.model, dataset.pixels, prepared.spec)
    report = {"data": record(check), **float_parity(reference, float_path, dataset)}
    return report | (int8_parity(float_path, int8_path, dataset) if int8_path is not None else {})


def _describe(
    prepared: _Prepared,
    *,
    name: str,
    checkpoint: str | os.PathLike[str],
    drift: float,
    quantization: dict[str, Any] | None,
) -> ModelDescription:
    loaded = prepared.loaded
    provenance = _provenance(loaded, checkpoint, drift)
    return ModelDescription(
        name=name,
        spec=prepared.spec,
        model=dict(loaded.checkpoint["model"]),
        provenance={**provenance, "framing": prepared.framing},
        input_name=INPUT_NAME,
        output_name=OUTPUT_NAME,
        quantization=quantization,
        temperature=prepared.temperature,
        temperature_fit=prepared.fitted,
        prior=prepared.prior,
    )


def export_checkpoint(
    checkpoint: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    name: str = "model",
    *,
    quantize: bool = False,
    calib: str | None = None,
    check: str | None = None,
    allow_int8_drop: bool = False,
    cache_dir: str | None = None,
    val: str | None = None,
    votes: str | None = None,
    default_prior: str = "trained",
    fp16: bool = False,
) -> ExportResult:
    """Export a checkpoint to `out_dir/name.onnx` (+ `name.int8.onnx`) and `out_dir/name.json`.

    The float graph must match PyTorch on a probe batch. The temperature is fitted on `val` (default:
    the run's validation data, when it is here) against `votes` (default: the run's votes, when here),
    else against the labels, for the probabilities of `default_prior`. The graphs give the trained posterior;
    the description records the training class shares, so the runtime can divide by them ("uniform") or not
    ("trained"); `default_prior` is what it does unless told. With `check`, both graphs are scored on that data
    and held to the limits (`fer_train.parity`). The ORT format of the int8 graph (else the float one) is written
    too, and with `fp16` a float16 graph (`fer_train.derived_graphs`)."""
    power_of(default_prior)  # a known choice, before any work
    loaded = load_model(checkpoint)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    val = val or _recorded(loaded, "val")
    votes = votes or (_recorded(loaded, "votes") if val else None)
    table = read_votes(votes, loaded.spec.classes) if votes else None
    prepared = _prepare(loaded, val=val, votes=table, default_prior=default_prior, cache_dir=cache_dir)
    with tempfile.TemporaryDirectory(dir=out, prefix=".export-") as tmp:
        graphs: dict[str, Path] = {"float": Path(tmp) / f"{name}.onnx"}
        drift = _write_float(prepared, graphs["float"])
        quantization = None
        if quantize:
            pixels, calib_source = _calibration_pixels(loaded, calib, table, cache_dir)
            graphs["int8"] = Path(tmp) / f"{name}.int8.onnx"
            quantize_int8(graphs["float"], graphs["int8"], INPUT_NAME, pixels, prepared.spec)
            quantization = quantization_record(record(calib_source), len(pixels))
        description = _describe(prepared, name=name, checkpoint=checkpoint, drift=drift, quantization=quantization)
        embed_all(description, graphs)
        derived = ("ort", "fp16") if fp16 else ("ort",)
        details = stage_derived(description, graphs, derived)
        if check:
            parity = _parity(prepared, graphs, check, table, cache_dir)
            enforce(parity, allow_int8_drop)
            description = replace(description, parity=parity)
        description = publish(out, description, graphs, details)
    int8 = graphs.get("int8")
    return ExportResult(
        float_path=out / graphs["float"].name,
        int8_path=out / int8.name if int8 else None,
        json_path=out / f"{name}.json",
        description=description,
        derived=tuple(out / graphs[kind].name for kind in derived),
    )


def format_temperature(description: ModelDescription) -> str:
    fitted, prior = description.temperature_fit, description.prior
    text = (
        "temperature 1 (not fitted: no validation data)"
        if fitted is None
        else f"temperature {fitted['temperature']:.3f}, fitted on {fitted['data']} ({fitted['images']} faces) "
        f"against the {fitted['against']}: ECE {fitted['ece_before']:.4f} -> {fitted['ece_after']:.4f}"
    )
    if prior:
        text += f"\nclass prior: {describe(prior)}"
    return text
