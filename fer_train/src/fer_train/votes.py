"""Crowd votes per face (e.g. FER+'s ten raters): read from a CSV, matched to a dataset's faces by file
name, and turned into training targets.

The CSV has a `file` column (the image's file name) and one column per class holding counts or
probabilities. Other columns that hold numbers are votes for answers the model does not have
(another emotion, `unknown`, `not_face`); other columns are ignored.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np

from fer_runtime.errors import FerError
from fer_runtime.model_files import sha256_file
from fer_train.data_root import locate

log = logging.getLogger(__name__)

FEW_MATCHED = 0.5  # warn when fewer than this share of a dataset's faces have votes
NON_EMOTIONS = ("unknown", "not_face")  # answers of a votes file that are not emotions (FER+'s last two)


def ferplus_majority(counts: np.ndarray, is_emotion: np.ndarray) -> np.ndarray:
    """FER+'s majority rule (microsoft/FERPlus `src/ferplus.py`, mode "majority") for votes over every answer
    [N, A]: a vote of 1 is dropped as an outlier; the top answer must then hold more than half of the votes
    left and be an emotion (`is_emotion` [A]). Its column per face, else -1 (FER+ leaves the face out)."""
    kept = np.where(counts > 1, counts, 0.0)
    top = kept.argmax(1) if kept.shape[1] else np.zeros(len(kept), dtype=np.int64)
    best = kept.max(1, initial=0.0)
    valid = (best > 0) & (best > 0.5 * kept.sum(1)) & is_emotion[top]
    return np.where(valid, top, -1)


@dataclass(frozen=True)
class VoteTable:
    """A votes file read for the classes `classes`: one row per file."""

    path: str
    sha256: str
    classes: tuple[str, ...]
    rows: dict[str, int]  # file name → row
    counts: np.ndarray  # votes for each class, [M, C]
    other_total: np.ndarray  # votes for answers outside the classes, [M]
    other_max: np.ndarray  # the most votes any one of those answers got, [M]
    ferplus: np.ndarray  # the emotion FER+'s majority rule names per row ("" where it names none), [M]


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_votes(path: str | os.PathLike[str], classes: tuple[str, ...]) -> VoteTable:
    """Read and check a votes CSV; a problem is a FerError naming the file and line."""
    try:
        with open(locate(path), newline="", encoding="utf-8") as handle:
            lines = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FerError(f"{path}: cannot read votes ({exc})") from None
    if not lines:
        raise FerError(f"{path}: line 1: empty votes file")
    header = [name.strip().lower() for name in lines[0]]
    if len(set(header)) != len(header):
        raise FerError(f"{path}: line 1: a column name repeats ({', '.join(header)})")
    if "file" not in header:
        raise FerError(f"{path}: line 1: no 'file' column")
    missing = [c for c in classes if c not in header]
    if missing:
        raise FerError(f"{path}: line 1: no column for class(es) {', '.join(missing)}; columns: {', '.join(header)}")
    file_col, class_cols = header.index("file"), [header.index(c) for c in classes]
    body = [(number, row) for number, row in enumerate(lines[1:], start=2) if any(cell.strip() for cell in row)]
    others = [
        j
        for j, name in enumerate(header)
        if j != file_col
        and j not in class_cols
        and all(len(row) > j and _number(row[j]) is not None for _, row in body)
    ]
    rows: dict[str, int] = {}
    counts = np.zeros((len(body), len(classes)))
    other = np.zeros((len(body), max(1, len(others))))
    for i, (number, row) in enumerate(body):
        if len(row) != len(header):
            raise FerError(f"{path}: line {number}: {len(row)} fields, the header has {len(header)}")
        name = PurePosixPath(row[file_col].strip()).name
        if not name:
            raise FerError(f"{path}: line {number}: empty file name")
        if name in rows:
            raise FerError(f"{path}: line {number}: {name} repeats line {body[rows[name]][0]}")
        rows[name] = i
        for k, j in enumerate(class_cols):
            value = _number(row[j])
            if value is None or value < 0:
                raise FerError(f"{path}: line {number}: {header[j]} is {row[j]!r}, not a count >= 0")
            counts[i, k] = value
        for k, j in enumerate(others):
            other[i, k] = max(0.0, float(row[j]))
    answers = np.array([*classes, *(header[j] for j in others)], dtype=object)
    every = np.concatenate([counts, other[:, : len(others)]], axis=1)
    column = ferplus_majority(every, np.array([a not in NON_EMOTIONS for a in answers], dtype=bool))
    ferplus = np.where(column >= 0, answers[np.maximum(column, 0)], "").astype(object)
    return VoteTable(str(path), sha256_file(path), tuple(classes), rows, counts, other.sum(1), other.max(1), ferplus)


@dataclass(frozen=True)
class FaceVotes:
    """The votes of a dataset's faces, in the dataset's order; faces without a row have zero votes."""

    counts: np.ndarray  # [N, C]
    other_total: np.ndarray  # [N]
    other_max: np.ndarray  # [N]
    matched: np.ndarray  # bool [N]: the file has a row
    ferplus: np.ndarray | None = None  # FER+'s majority emotion per face ("" where none), [N]

    def subset(self, indices: np.ndarray) -> FaceVotes:
        return FaceVotes(
            self.counts[indices],
            self.other_total[indices],
            self.other_max[indices],
            self.matched[indices],
            None if self.ferplus is None else self.ferplus[indices],
        )

    @property
    def in_class(self) -> np.ndarray:
        """Faces with at least one vote among the model's classes."""
        return self.counts.sum(1) > 0

    def distribution(self) -> np.ndarray:
        """Votes normalised over the model's classes, [N, C] (zero rows where no class got a vote)."""
        total = self.counts.sum(1, keepdims=True)
        return np.divide(self.counts, total, out=np.zeros_like(self.counts), where=total > 0)

    def class_share(self) -> np.ndarray:
        """The share of all votes that went to one of the model's classes, [N] (0 without votes)."""
        total = self.counts.sum(1) + self.other_total
        return np.divide(self.counts.sum(1), total, out=np.zeros(len(total)), where=total > 0)

    def majority(self) -> np.ndarray:
        """The raters' majority class per face, [N]; -1 where it is a tie, another answer or no vote."""
        top = self.counts.max(1)
        unique = (self.counts == top[:, None]).sum(1) == 1
        return np.where(unique & (top > self.other_max) & (top > 0), self.counts.argmax(1), -1)


def match_votes(table: VoteTable, paths: tuple[str, ...], what: str) -> FaceVotes:
    """The votes of the faces at `paths` (matched on file name); warns when few faces have a row."""
    index = np.array([table.rows.get(PurePosixPath(p).name, -1) for p in paths], dtype=np.int64)
    matched = index >= 0
    safe = np.where(matched, index, 0)
    votes = FaceVotes(
        np.where(matched[:, None], table.counts[safe], 0.0),
        np.where(matched, table.other_total[safe], 0.0),
        np.where(matched, table.other_max[safe], 0.0),
        matched,
        np.where(matched, table.ferplus[safe], "").astype(object),
    )
    if len(paths) and matched.mean() < FEW_MATCHED:
        log.warning(
            "WARNING: %s matches only %d of the %d faces of %s", table.path, int(matched.sum()), len(paths), what
        )
    return votes


def off_class_faces(votes: FaceVotes) -> np.ndarray:
    """Faces whose raters mostly (more than half of the votes) chose an answer outside the model's classes."""
    return votes.matched & (votes.class_share() < 0.5)


def soft_targets(labels: np.ndarray, votes: FaceVotes, weight: float, num_classes: int) -> np.ndarray:
    """`weight * votes + (1 - weight) * one_hot(label)` per face, [N, C]; a face without votes among the
    classes keeps its one-hot label."""
    one_hot = np.eye(num_classes)[labels]
    mixed = weight * votes.distribution() + (1 - weight) * one_hot
    return np.where(votes.in_class[:, None], mixed, one_hot).astype(np.float32)
