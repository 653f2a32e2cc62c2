"""What `export` measures on a run's validation data besides accuracy: the temperature that calibrates the
model's probabilities, and where the faces' landmarks sit in the frame (the runtime's crop template)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np

from fer_runtime.detect import YuNetDetector
from fer_runtime.postprocess import softmax
from fer_runtime.spec import PreprocessSpec
from fer_train.checkpoint import LoadedModel
from fer_train.crowd_metrics import rater_reliability
from fer_train.data import load_every_face, load_with_votes
from fer_train.data_root import record as recorded_path
from fer_train.landmark_template import measure_template
from fer_train.predict import predict_logits
from fer_train.quantize import fixed_sample
from fer_train.temperature import cross_entropy, fit_temperature
from fer_train.votes import VoteTable, match_votes

log = logging.getLogger(__name__)

FRAMING_SAMPLE = 400  # validation faces the landmark template is measured on
FRAMING_MIN_FOUND = 0.5  # share of them YuNet must find a face in for the template to count


def fit_temperature_on(
    loaded: LoadedModel,
    val: str | None,
    table: VoteTable | None,
    cache_dir: str | None,
    offset: np.ndarray | None = None,
) -> tuple[float, dict[str, Any] | None]:
    """The temperature fitted on `val` (against the votes when given, else the labels), with ECE before and
    after; (1, None) without validation data. The "after" figures are those of softmax(logits / T - offset),
    the output once a prior correction (`offset` = A·log prior) is folded in."""
    if val is None:
        log.info("no validation data: the temperature stays 1 (pass --val DATA to calibrate)")
        return 1.0, None
    spec = loaded.spec
    dataset = load_with_votes(val, spec, cache_dir, table)
    logits = predict_logits(loaded.model, dataset.pixels, spec).astype(np.float64)
    record: dict[str, Any] = {"data": recorded_path(val), "images": len(dataset)}
    if table is not None:
        face_votes = match_votes(table, dataset.paths, str(val))
        keep = face_votes.in_class
        targets = face_votes.distribution()[keep]
        logits = logits[keep]
        record.update({"against": "votes", "votes": table.path, "images": int(keep.sum())})
    else:
        targets = np.eye(spec.num_classes)[dataset.labels]
        record["against"] = "labels"
    temperature = fit_temperature(logits, targets)

    shift = np.zeros(spec.num_classes) if offset is None else offset
    after = logits - temperature * shift

    def ece(scores: np.ndarray, t: float) -> float:  # one-hot targets: the share of raters is right (1) or wrong (0)
        return rater_reliability(softmax(scores, t), targets).ece

    record.update(
        {
            "temperature": temperature,
            "ece_before": ece(logits, 1.0),
            "ece_after": ece(after, temperature),
            "cross_entropy_before": cross_entropy(logits, targets),
            "cross_entropy_after": cross_entropy(after, targets, temperature),
        }
    )
    return temperature, record


def measure_framing_on(
    loaded: LoadedModel, val: str | None, cache_dir: str | None
) -> tuple[PreprocessSpec, dict[str, Any] | None]:
    """The model's spec with the landmark template measured by YuNet on a fixed sample of `val`'s faces,
    and a record of the measurement. Without `val`, or when YuNet finds a face in under half the sample
    (data that does not look like faces), the spec is unchanged: the runtime crops by box and margin."""
    if val is None:
        log.info("no validation data: no landmark template, so the runtime crops faces by box and margin")
        return loaded.spec, None
    dataset = load_every_face(val, loaded.spec, cache_dir)  # framing needs no labels
    faces = dataset.pixels[fixed_sample(dataset.paths, FRAMING_SAMPLE)]
    template, found = measure_template(faces, YuNetDetector())
    record: dict[str, Any] = {"data": recorded_path(val), "faces": len(faces), "found": found}
    if found < FRAMING_MIN_FOUND * len(faces):
        log.warning("YuNet found faces in %d of %d validation images: no landmark template", found, len(faces))
        return loaded.spec, record
    return replace(loaded.spec, landmark_template=template), {**record, "landmark_template": list(template)}
