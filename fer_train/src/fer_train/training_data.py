"""What a run trains and validates on: the faces, their target distributions (one-hot labels, or mixed
with crowd votes), the validation faces' votes, and the preprocessing spec."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from fer_runtime.errors import FerError
from fer_runtime.spec import PreprocessSpec
from fer_train.config import FitConfig
from fer_train.data import FaceDataset, load_dataset, pixel_stats
from fer_train.data_root import record as recorded_path
from fer_train.ferplus import FerPlusFaces, ferplus_faces
from fer_train.votes import FaceVotes, VoteTable, match_votes, off_class_faces, read_votes, soft_targets

log = logging.getLogger(__name__)


def run_votes(config: FitConfig) -> VoteTable | None:
    """The votes file a run names, read once for everything the run does with it; None without one."""
    return read_votes(config.votes, config.classes) if config.votes else None


def labels_from(config: FitConfig, table: VoteTable | None) -> VoteTable | None:
    """The votes a run's faces take their classes from (`labels` "votes"), else None: their folders."""
    return table if config.labels == "votes" else None


def _load_split(path: str, spec: PreprocessSpec, config: FitConfig, table: VoteTable | None, role: str) -> FaceDataset:
    dataset = load_dataset(path, spec, config.cache_dir, labels_from=labels_from(config, table))
    counts = ", ".join(f"{k} {v}" for k, v in dataset.counts().items())
    log.info("%s %s: %d images (%s)", role, path, len(dataset), counts)
    empty = [k for k, v in dataset.counts().items() if v == 0]
    if empty:
        raise FerError(f"{path}: class(es) {', '.join(empty)} have no images")
    return dataset


@dataclass(frozen=True)
class TrainingData:
    spec: PreprocessSpec
    train: FaceDataset
    val: FaceDataset | None
    targets: np.ndarray  # the training faces' target distributions, [N, C]
    val_votes: FaceVotes | None
    provenance: dict[str, Any]
    val_ferplus: FerPlusFaces | None = None  # every validation face FER+'s rule keeps, when there are votes


def apply_votes(
    config: FitConfig, table: VoteTable | None, train: FaceDataset, val: FaceDataset | None
) -> tuple[FaceDataset, np.ndarray, FaceVotes | None, dict[str, Any] | None, FerPlusFaces | None]:
    """With the run's votes (`run_votes`): the training faces kept, their targets, the validation faces' votes,
    a record of it, and the validation split's faces as FER+'s yardstick scores them."""
    one_hot = np.eye(len(config.classes), dtype=np.float32)[train.labels]
    if table is None:
        return train, one_hot, None, None, None
    votes = match_votes(table, train.paths, config.data)
    matched, off = int(votes.matched.sum()), off_class_faces(votes)
    if config.vote_off_class == "drop" and off.any():
        keep = np.nonzero(~off)[0]
        log.info("votes: leaving out %d training faces whose raters mostly chose another answer", int(off.sum()))
        train = train.subset(keep)
        votes = votes.subset(keep)
    targets = soft_targets(train.labels, votes, config.vote_weight, len(config.classes))
    val_votes = match_votes(table, val.paths, str(config.val)) if val is not None else None
    record = {
        "path": recorded_path(config.votes) if config.votes else None,
        "sha256": table.sha256,
        "train_matched": matched,
        "train_off_class": int(off.sum()),
        "train_off_class_dropped": config.vote_off_class == "drop",
        "val_matched": int(val_votes.matched.sum()) if val_votes is not None else None,
    }
    log.info("votes %s: %d training faces matched", config.votes, record["train_matched"])
    spec = PreprocessSpec(classes=config.classes)  # the input size the splits are decoded at
    ferplus = ferplus_faces(config.val, spec, table, config.cache_dir) if val is not None and config.val else None
    return train, targets, val_votes, record, ferplus


def load_training_data(config: FitConfig, state: dict[str, Any] | None) -> TrainingData:
    """The training and validation faces, their targets and votes, and the spec (normalisation from the
    training faces, or as the run being resumed recorded it)."""
    base_spec = PreprocessSpec(classes=config.classes)
    table = run_votes(config)
    train = _load_split(config.data, base_spec, config, table, "train")
    if state is not None:
        spec = PreprocessSpec.from_dict(state["spec"])
    else:
        mean, std = pixel_stats(train)
        spec = replace(base_spec, mean=round(mean, 6), std=round(std, 6))
    val = _load_split(config.val, spec, config, table, "val") if config.val else None
    train, targets, val_votes, votes_record, val_ferplus = apply_votes(config, table, train, val)
    provenance = {
        "data": {"path": recorded_path(config.data), "sha256": train.sha256, "images": len(train)},
        "val": {"path": recorded_path(config.val), "sha256": val.sha256, "images": len(val)}
        if val and config.val
        else None,
        "votes": votes_record,
    }
    return TrainingData(spec, train, val, targets, val_votes, provenance, val_ferplus)
