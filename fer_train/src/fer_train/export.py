"""`export_checkpoint`: checkpoint → folded → ONNX → onnxsim → checked against PyTorch → temperature and
face framing (`export_fits`) → (int8) → (accuracy parity) → description in each graph and beside them,
in named steps.

Everything is written into a temporary folder inside the output folder and moved into place
only when every check passed, so an export never leaves half-written files behind.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxsim
import torch
from torch import nn

from fer_runtime import __version__
from fer_runtime.atomic import write_text
from fer_runtime.errors import FerError
from fer_runtime.model_files import METADATA_KEY, ModelDescription, sha256_file
from fer_runtime.session import create_session
from fer_runtime.spec import PreprocessSpec
from fer_train.checkpoint import LoadedModel, load_model
from fer_train.data import load_dataset
from fer_train.export_fits import fit_temperature_on, measure_framing_on
from fer_train.fold import fold_batchnorm
from fer_train.metrics import compute_metrics
from fer_train.prior import describe, prior_offset, shift_logits, training_prior
from fer_train.quantize import calibration_sample, quantize_int8
from fer_train.scoring import Scorer, predict_logits

log = logging.getLogger(__name__)

INPUT_NAME, OUTPUT_NAME = "input", "logits"
OPSET = 17
FLOAT_TOLERANCE = 1e-4
INT8_MAX_DROP, INT8_MIN_AGREEMENT = 0.01, 0.97
CALIBRATION_SIZE = 400


@dataclass(frozen=True)
class ExportResult:
    float_path: Path
    int8_path: Path | None
    json_path: Path
    description: ModelDescription


def _onnx_export(model: nn.Module, spec: PreprocessSpec, path: Path) -> None:
    dummy = torch.zeros(2, spec.channels, spec.height, spec.width)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter needs no onnxscript
        torch.onnx.export(
            model,
            (dummy,),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        )


def _simplify(path: Path) -> None:
    model, ok = onnxsim.simplify(onnx.load(str(path)))
    if not ok:
        raise FerError("onnxsim could not validate the simplified graph")
    onnx.save(model, str(path))


def _embed(path: Path, description: ModelDescription) -> None:
    model = onnx.load(str(path))
    del model.metadata_props[:]
    model.metadata_props.add(key=METADATA_KEY, value=json.dumps(description.to_dict()))
    model.producer_name, model.producer_version = "fer_train", __version__
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))


def _count_ops(path: Path, op_type: str) -> int:
    return sum(node.op_type == op_type for node in onnx.load(str(path)).graph.node)


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
    path = entry.get("path")
    return path if path and Path(path).exists() else None


def _calibration_pixels(loaded: LoadedModel, calib: str | None, cache_dir: str | None) -> tuple[np.ndarray, str]:
    calib = calib or _recorded(loaded, "data")
    if calib is None:
        raise FerError("the training data recorded in the checkpoint is not here; pass --calib DATA")
    dataset = load_dataset(calib, loaded.spec, cache_dir)
    return calibration_sample(dataset.pixels, dataset.paths, CALIBRATION_SIZE), str(calib)


def _parity(
    loaded: LoadedModel, float_path: Path, int8_path: Path | None, check: str, cache_dir: str | None
) -> dict[str, Any]:
    spec = loaded.spec
    dataset = load_dataset(check, spec, cache_dir)
    reference = predict_logits(loaded.model, dataset.pixels, spec)
    floats = Scorer(float_path).logits(dataset.pixels)
    report: dict[str, Any] = {
        "data": check,
        "images": len(dataset),
        "float_max_abs_logit_diff": float(np.abs(floats - reference).max()),
        "float_top1_agreement": float((floats.argmax(1) == reference.argmax(1)).mean()),
        "pytorch": compute_metrics(dataset.labels, reference.argmax(1), spec.classes).to_dict(),
        "onnx_float": compute_metrics(dataset.labels, floats.argmax(1), spec.classes).to_dict(),
    }
    if int8_path is not None:
        ints = Scorer(int8_path).logits(dataset.pixels)
        int8_metrics = compute_metrics(dataset.labels, ints.argmax(1), spec.classes).to_dict()
        report.update(
            {
                "onnx_int8": int8_metrics,
                "int8_top1_agreement": float((ints.argmax(1) == floats.argmax(1)).mean()),
                "int8_accuracy_drop": report["onnx_float"]["accuracy"] - int8_metrics["accuracy"],
            }
        )
    return report


def _provenance(loaded: LoadedModel, checkpoint: str | os.PathLike[str], probe_drift: float) -> dict[str, Any]:
    history = loaded.checkpoint.get("history", [])
    best = loaded.checkpoint.get("best", {})
    return {
        **loaded.checkpoint.get("provenance", {}),
        "checkpoint": Path(checkpoint).name,
        "epochs_trained": loaded.checkpoint.get("epoch"),
        "train_wall_seconds": round(sum(h.get("epoch_seconds", 0.0) for h in history), 1),
        "train_threads": sorted({h["threads"] for h in history if "threads" in h}),
        "recipe": loaded.checkpoint.get("config"),
        "best_epoch": best.get("epoch"),
        "validation": next((h for h in history if h["epoch"] == best.get("epoch")), None),
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "fer_version": __version__,
        "torch_version": torch.__version__,
        "opset": OPSET,
        "probe_max_abs_logit_diff": probe_drift,
    }


def export_checkpoint(
    checkpoint: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    name: str = "model",
    quantize: bool = False,
    calib: str | None = None,
    check: str | None = None,
    allow_int8_drop: bool = False,
    cache_dir: str | None = None,
    val: str | None = None,
    votes: str | None = None,
    prior_correction: float = 0.0,
) -> ExportResult:
    """Export a checkpoint to `out_dir/name.onnx` (+ `name.int8.onnx`) and `out_dir/name.json`.

    The float graph must match PyTorch on a probe batch. The temperature is fitted on `val` (default:
    the run's validation data, when it is here) against `votes` (default: the run's votes, when here),
    else against the labels. With `prior_correction` A > 0, the probabilities are divided by the training
    class shares to the power A (`fer_train.prior`), folded into the last layer. With `check`, both graphs
    are scored on that data and held to the limits."""
    if prior_correction < 0:
        raise FerError(f"the prior correction's power must be >= 0, not {prior_correction}")
    loaded = load_model(checkpoint)
    spec = loaded.spec
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    probe = _probe_batch(spec)
    val = val or _recorded(loaded, "val")
    votes = votes or (_recorded(loaded, "votes") if val else None)
    prior = training_prior(loaded, cache_dir) if prior_correction else None
    offset = None if prior is None else prior_offset(prior, prior_correction)
    temperature, fitted = fit_temperature_on(loaded, val, votes, cache_dir, offset)
    correction = None
    if prior is not None and offset is not None:
        loaded = replace(loaded, model=shift_logits(loaded.model, -temperature * offset, probe))
        correction = {"power": prior_correction, "prior": dict(zip(spec.classes, np.round(prior, 4).tolist()))}
    folded = fold_batchnorm(loaded.model)
    with torch.inference_mode():
        drift = float((folded(probe) - loaded.model(probe)).abs().max())
    if drift > FLOAT_TOLERANCE:
        raise FerError(f"BatchNorm folding changed the logits by {drift:.2e} (> {FLOAT_TOLERANCE})")
    spec, framing = measure_framing_on(loaded, val, cache_dir)

    with tempfile.TemporaryDirectory(dir=out, prefix=".export-") as tmp:
        stage = Path(tmp)
        float_path = stage / f"{name}.onnx"
        _onnx_export(folded, spec, float_path)
        _simplify(float_path)
        if _count_ops(float_path, "BatchNormalization"):
            raise FerError("the float graph still holds BatchNormalization nodes")
        probe_drift = _probe_check(loaded.model, float_path, spec)
        int8_path, quantization = None, None
        if quantize:
            pixels, calib_source = _calibration_pixels(loaded, calib, cache_dir)
            int8_path = stage / f"{name}.int8.onnx"
            quantize_int8(float_path, int8_path, INPUT_NAME, pixels, spec)
            quantization = {
                "format": "QDQ",
                "weights": "int8 per-channel, 7-bit range",
                "activations": "uint8",
                "calibration": {"data": calib_source, "images": len(pixels)},
            }
        description = ModelDescription(
            name,
            spec,
            dict(loaded.checkpoint["model"]),
            {**_provenance(loaded, checkpoint, probe_drift), "framing": framing, "prior_correction": correction},
            INPUT_NAME,
            OUTPUT_NAME,
            quantization,
            temperature=temperature,
            calibration=fitted,
        )
        graphs = {"float": float_path, "int8": int8_path}
        for kind, path in graphs.items():
            if path is not None:
                _embed(path, replace(description, graph=kind))
        if check:
            parity = _parity(loaded, float_path, int8_path, check, cache_dir)
            _enforce(parity, allow_int8_drop)
            description = replace(description, parity=parity)
        description = replace(
            description,
            graphs={
                kind: {"file": path.name, "sha256": sha256_file(path)}
                for kind, path in graphs.items()
                if path is not None
            },
        )
        for staged in (float_path, int8_path):
            if staged is not None:
                os.replace(staged, out / staged.name)
        json_path = out / f"{name}.json"
        write_text(json_path, description.to_json())
    return ExportResult(out / float_path.name, out / int8_path.name if int8_path else None, json_path, description)


def _enforce(parity: dict[str, Any], allow_int8_drop: bool) -> None:
    if parity["float_max_abs_logit_diff"] > FLOAT_TOLERANCE or parity["float_top1_agreement"] < 1.0:
        raise FerError(
            f"ONNX float graph differs from PyTorch: max |Δlogit| {parity['float_max_abs_logit_diff']:.2e}, "
            f"top-1 agreement {parity['float_top1_agreement']:.4f}"
        )
    if "onnx_int8" not in parity:
        return
    drop, agree = parity["int8_accuracy_drop"], parity["int8_top1_agreement"]
    if drop > INT8_MAX_DROP or agree < INT8_MIN_AGREEMENT:
        message = (
            f"int8 graph loses {drop * 100:.2f} accuracy points and agrees on {agree:.2%} "
            f"(limits: {INT8_MAX_DROP * 100:.0f} point, {INT8_MIN_AGREEMENT:.0%})"
        )
        if not allow_int8_drop:
            raise FerError(message + "; pass --allow-int8-drop to keep it anyway")
        log.warning("WARNING: %s (kept: --allow-int8-drop)", message)


def format_parity(parity: dict[str, Any]) -> str:
    lines = [
        f"parity on {parity['data']} ({parity['images']} images)",
        f"  PyTorch vs ONNX float: max |Δlogit| {parity['float_max_abs_logit_diff']:.2e}, "
        f"top-1 agreement {parity['float_top1_agreement']:.2%}",
    ]
    for key, label in (("pytorch", "PyTorch"), ("onnx_float", "ONNX float"), ("onnx_int8", "ONNX int8")):
        if key in parity:
            m = parity[key]
            lines.append(f"  {label:<11} accuracy {m['accuracy']:.4f}  balanced {m['balanced_accuracy']:.4f}")
    if "onnx_int8" in parity:
        lines.append(
            f"  int8 vs float: accuracy drop {parity['int8_accuracy_drop'] * 100:+.2f} points, "
            f"top-1 agreement {parity['int8_top1_agreement']:.2%}"
        )
    return "\n".join(lines)


def format_calibration(description: ModelDescription) -> str:
    fitted, correction = description.calibration, description.provenance.get("prior_correction")
    text = (
        "temperature 1 (not fitted: no validation data)"
        if fitted is None
        else f"temperature {fitted['temperature']:.3f}, fitted on {fitted['data']} ({fitted['images']} faces) "
        f"against the {fitted['against']}: ECE {fitted['ece_before']:.4f} -> {fitted['ece_after']:.4f}"
    )
    if correction:
        text += f"\nprior correction: probabilities divided by {describe(correction)}"
    return text
