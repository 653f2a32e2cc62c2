"""What `fit` measures on the validation faces each epoch, and which of those figures picks best.pt."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fer_runtime.postprocess import softmax
from fer_runtime.spec import PreprocessSpec
from fer_train.config import SELECTED_BY, FitConfig
from fer_train.crowd_metrics import crowd_metrics
from fer_train.data import FaceDataset
from fer_train.epoch_record import Validation
from fer_train.ferplus import FerPlusFaces, ferplus_metrics
from fer_train.metrics import compute_metrics
from fer_train.predict import predict_logits
from fer_train.votes import FaceVotes

SCORE_NAMES = {
    "train_accuracy": "training accuracy",
    "val_balanced_accuracy": "validation balanced accuracy",
    "val_crowd_balanced_accuracy": "validation crowd balanced accuracy",
    "val_ferplus_accuracy": "validation top-1 against FER+'s majority",
}


def selection_metric(config: FitConfig) -> str:
    """The history key whose best value picks best.pt: training accuracy without validation data."""
    return "train_accuracy" if config.val is None else SELECTED_BY[config.select_on]


def validate(
    model: nn.Module,
    val: FaceDataset,
    spec: PreprocessSpec,
    votes: FaceVotes | None,
    ferplus: FerPlusFaces | None = None,
) -> Validation:
    """The validation figures of one epoch: loss, accuracy and balanced accuracy on the labels, per-class
    recall; with votes, the same against the raters' majority, KL and ECE, and FER+'s yardstick on every
    face of the split (`ferplus`)."""
    logits = predict_logits(model, val.pixels, spec)
    metrics = compute_metrics(val.labels, logits.argmax(1), spec.classes)
    record = Validation(
        val_loss=float(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(val.labels))),
        val_accuracy=metrics.accuracy,
        val_balanced_accuracy=metrics.balanced_accuracy,
        val_recall=metrics.per_class_recall,
    )
    if votes is not None:
        crowd = crowd_metrics(softmax(logits.astype(np.float64)), votes, spec.classes)
        record = replace(
            record,
            val_crowd_accuracy=crowd.majority.accuracy,
            val_crowd_balanced_accuracy=crowd.majority.balanced_accuracy,
            val_crowd_kl=crowd.kl,
            val_crowd_ece=crowd.reliability.ece,
            val_crowd_recall=crowd.majority.per_class_recall,
        )
    if ferplus is not None:
        scored = ferplus_metrics(predict_logits(model, ferplus.pixels, spec).argmax(1), ferplus.majority, spec.classes)
        record = replace(
            record,
            val_ferplus_accuracy=scored.accuracy,
            val_ferplus_class_accuracy=scored.in_classes.accuracy,
            val_ferplus_balanced_accuracy=scored.in_classes.balanced_accuracy,
        )
    return record
