"""`fer-train eda`: what is in one or more face datasets, as PNGs, `report.md` and `eda.json`.

Class balance, sample faces, pixel-intensity histograms, brightness and contrast, per-class mean
face and per-pixel variance, blank or near-constant images, and exact and near duplicates within
each split and across every pair of splits.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from fer_runtime.atomic import write_text
from fer_runtime.errors import FerError
from fer_runtime.spec import DEFAULT_CLASSES, PreprocessSpec
from fer_train.analysis.duplicates import BLANK_MAX_STD, NEAR_MAX_BITS, exact_keys, near_pairs, phash
from fer_train.analysis.eda_markdown import eda_markdown
from fer_train.analysis.eda_report import (
    AcrossDuplicates,
    Blank,
    BothSides,
    ClassLight,
    EdaReport,
    NearPair,
    SplitSummary,
    WithinDuplicates,
)
from fer_train.data import FaceDataset, load_dataset, split_names
from fer_train.plots import save_figure

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Split:
    """One dataset under analysis with its per-image statistics."""

    name: str
    data: FaceDataset
    brightness: np.ndarray  # mean pixel of each image, 0..255
    contrast: np.ndarray  # pixel standard deviation of each image, 0..255
    blank: np.ndarray  # True for near-constant images, which are left out of the duplicate checks
    hashes: np.ndarray  # perceptual hashes of the other images, indexed by `kept`
    keys: list[str]
    kept: np.ndarray

    @property
    def kept_labels(self) -> np.ndarray:
        return self.data.labels[self.kept]


def _split(name: str, data: FaceDataset, blank_max_std: float) -> Split:
    values = data.pixels.reshape(len(data), -1).astype(np.float32)
    contrast = values.std(1)
    blank = contrast <= blank_max_std
    kept = np.nonzero(~blank)[0]
    return Split(
        name, data, values.mean(1), contrast, blank, phash(data.pixels[kept]), exact_keys(data.pixels[kept]), kept
    )


def _duplicates_within(split: Split, max_distance: int) -> WithinDuplicates:
    copies = Counter(split.keys).values()
    exact_groups = sum(1 for n in copies if n > 1)
    exact_copies = sum(n - 1 for n in copies)
    pairs = near_pairs(split.hashes, max_distance=max_distance)
    labels = split.kept_labels
    conflicts = int(np.sum(labels[pairs.first] != labels[pairs.second]))
    involved = np.unique(np.concatenate([pairs.first, pairs.second])) if len(pairs) else np.zeros(0, np.int64)
    return WithinDuplicates(exact_groups, exact_copies, len(pairs), int(len(involved)), conflicts)


def _duplicates_across(a: Split, b: Split, max_distance: int) -> AcrossDuplicates:
    keys_a, keys_b = set(a.keys), set(b.keys)
    pairs = near_pairs(a.hashes, b.hashes, max_distance=max_distance)
    conflicts = int(np.sum(a.kept_labels[pairs.first] != b.kept_labels[pairs.second]))
    examples = tuple(
        NearPair(a.data.paths[a.kept[i]], b.data.paths[b.kept[j]], int(d))
        for i, j, d in list(zip(pairs.first, pairs.second, pairs.distance))[:10]
    )
    return AcrossDuplicates(
        first=a.name,
        second=b.name,
        exact=BothSides(sum(1 for key in a.keys if key in keys_b), sum(1 for key in b.keys if key in keys_a)),
        near=BothSides(int(len(np.unique(pairs.first))), int(len(np.unique(pairs.second)))),
        near_duplicate_pairs=len(pairs),
        near_pairs_with_different_labels=conflicts,
        examples=examples,
    )


def _blank(split: Split) -> Blank:
    blank = np.nonzero(split.blank)[0]
    return Blank(int(len(blank)), tuple(split.data.paths[i] for i in blank[:20]))


def _summary(split: Split, path: str | os.PathLike[str], near_max_bits: int) -> SplitSummary:
    per_class = {}
    for k, name in enumerate(split.data.classes):
        mask = split.data.labels == k
        per_class[name] = ClassLight(float(np.median(split.brightness[mask])), float(np.median(split.contrast[mask])))
    return SplitSummary(
        name=split.name,
        path=str(path),
        images=len(split.data),
        counts=split.data.counts(),
        per_class=per_class,
        blank=_blank(split),
        duplicates=_duplicates_within(split, near_max_bits),
    )


def _class_figure(splits: Sequence[Split], path: Path) -> None:
    classes = splits[0].data.classes
    fig = Figure(figsize=(2 + 1.6 * len(classes), 4))
    ax = fig.subplots()
    width = 0.8 / len(splits)
    for s, split in enumerate(splits):
        counts = list(split.data.counts().values())
        xs = np.arange(len(classes)) + s * width - 0.4 + width / 2
        bars = ax.bar(
            xs, np.array(counts) / max(1, len(split.data)), width, label=f"{split.name} (n={len(split.data)})"
        )
        ax.bar_label(bars, labels=[str(c) for c in counts], fontsize=7)
    ax.set_xticks(range(len(classes)), classes)
    ax.set(ylabel="share of the split (bar labels: counts)", title="class distribution")
    ax.legend()
    save_figure(fig, path)


def _samples_figure(split: Split, path: Path, per_class: int = 8) -> None:
    classes = split.data.classes
    fig = Figure(figsize=(per_class * 0.9 + 1, len(classes) * 1.0 + 0.5))
    axes = np.atleast_2d(fig.subplots(len(classes), per_class))
    rng = np.random.default_rng(0)
    for row, name in enumerate(classes):
        members = np.nonzero(split.data.labels == row)[0]
        chosen = rng.choice(members, size=min(per_class, len(members)), replace=False)
        for col in range(per_class):
            ax = axes[row, col]
            ax.axis("off")
            if col < len(chosen):
                ax.imshow(split.data.pixels[chosen[col]], cmap="gray", vmin=0, vmax=255)
        axes[row, 0].set_title(name, loc="left", fontsize=9)
    fig.suptitle(f"{split.name}: random samples per class")
    save_figure(fig, path)


def _histogram_figure(splits: Sequence[Split], path: Path) -> None:
    fig = Figure(figsize=(5 * len(splits), 3.6))
    axes = np.atleast_1d(fig.subplots(1, len(splits)))
    bins = np.linspace(0, 256, 33)
    for ax, split in zip(axes, splits):
        for label, name in enumerate(split.data.classes):
            values = split.data.pixels[split.data.labels == label].ravel()
            density, _ = np.histogram(values, bins=bins, density=True)
            ax.plot((bins[:-1] + bins[1:]) / 2, density, label=name)
        ax.set(title=f"{split.name}: pixel intensity", xlabel="gray level", ylabel="density")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    save_figure(fig, path)


def _box_figure(splits: Sequence[Split], path: Path) -> None:
    classes = splits[0].data.classes
    fig = Figure(figsize=(3 + 1.5 * len(classes) * max(1, len(splits)) / 2, 7))
    axes = fig.subplots(2, 1)
    width = 0.8 / len(splits)
    for ax, attribute, title in (
        (axes[0], "brightness", "brightness (mean gray level per image)"),
        (axes[1], "contrast", "contrast (gray-level std per image)"),
    ):
        for s, split in enumerate(splits):
            values = getattr(split, attribute)
            groups = [values[split.data.labels == k] for k in range(len(classes))]
            positions = np.arange(len(classes)) + s * width - 0.4 + width / 2
            boxes = ax.boxplot(groups, positions=positions, widths=width * 0.9, patch_artist=True, showfliers=False)
            for box in boxes["boxes"]:
                box.set_facecolor(f"C{s}")
                box.set_alpha(0.6)
            ax.plot([], [], color=f"C{s}", lw=8, alpha=0.6, label=split.name)
        ax.set_xticks(range(len(classes)), classes)
        ax.set(title=title)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, axis="y")
    save_figure(fig, path)


def _mean_face_figure(split: Split, path: Path) -> None:
    classes = split.data.classes
    fig = Figure(figsize=(1.8 * len(classes) + 1, 4))
    axes = np.atleast_2d(fig.subplots(2, len(classes)))
    for k, name in enumerate(classes):
        faces = split.data.pixels[split.data.labels == k].astype(np.float32)
        if not len(faces):
            continue
        axes[0, k].imshow(faces.mean(0), cmap="gray", vmin=0, vmax=255)
        variance = axes[1, k].imshow(faces.std(0), cmap="magma", vmin=0, vmax=90)
        axes[0, k].set_title(f"{name} mean", fontsize=9)
        axes[1, k].set_title(f"{name} pixel std", fontsize=9)
        for ax in axes[:, k]:
            ax.axis("off")
    fig.colorbar(variance, ax=axes[1, -1], fraction=0.046, label="std")
    fig.suptitle(f"{split.name}: mean face and per-pixel variation")
    save_figure(fig, path)


def run_eda(
    paths: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    classes: Sequence[str] = DEFAULT_CLASSES,
    cache_dir: str | os.PathLike[str] | None = None,
    face_images: bool = True,
    near_max_bits: int = NEAR_MAX_BITS,
    blank_max_std: float = BLANK_MAX_STD,
) -> EdaReport:
    """Analyse each dataset in `paths`; write PNGs, report.md and eda.json to `out`; return the report."""
    if not paths:
        raise FerError("give at least one dataset (--data)")
    out_dir = Path(out)
    splits = []
    for name, path in zip(split_names(paths), paths):
        data = load_dataset(path, PreprocessSpec(classes=tuple(classes)), cache_dir)
        log.info("%s: %d images", name, len(data))
        splits.append(_split(name, data, blank_max_std))
    report = EdaReport(
        classes=tuple(classes),
        near_duplicate_max_bits=near_max_bits,
        blank_max_std=blank_max_std,
        face_images_omitted=not face_images,
        splits=tuple(_summary(split, path, near_max_bits) for split, path in zip(splits, paths)),
        across=tuple(_duplicates_across(a, b, near_max_bits) for a, b in combinations(splits, 2)),
    )

    figures = ["class_distribution.png", "intensity_histograms.png", "brightness_contrast.png"]
    _class_figure(splits, out_dir / figures[0])
    _histogram_figure(splits, out_dir / figures[1])
    _box_figure(splits, out_dir / figures[2])
    if face_images:
        for split in splits:
            _samples_figure(split, out_dir / f"samples_{split.name}.png")
            _mean_face_figure(split, out_dir / f"mean_face_{split.name}.png")
            figures += [f"samples_{split.name}.png", f"mean_face_{split.name}.png"]
    write_text(out_dir / "eda.json", json.dumps(report.to_json(), indent=2))
    write_text(out_dir / "report.md", eda_markdown(report, figures))
    return report
