"""Figures written as PNG files with matplotlib's Agg canvas (no display, no pyplot state)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from fer_runtime.atomic import atomic_path
from fer_train.epoch_record import EpochRecord
from fer_train.metrics import Metrics, Reliability


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> None:
    FigureCanvasAgg(fig)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)


def plot_curves(history: Sequence[EpochRecord], path: str | os.PathLike[str]) -> None:
    """Loss and accuracy per epoch, training beside validation."""
    epochs = [h.epoch for h in history]
    fig = Figure(figsize=(10, 4))
    ax_loss, ax_acc = fig.subplots(1, 2)
    ax_loss.plot(epochs, [h.train_loss for h in history], label="train")
    validated = [(h.epoch, h.validation) for h in history if h.validation is not None]
    if validated:
        val_epochs = [epoch for epoch, _ in validated]
        ax_loss.plot(val_epochs, [v.val_loss for _, v in validated], label="validation")
        ax_acc.plot(val_epochs, [v.val_accuracy for _, v in validated], label="validation accuracy")
        ax_acc.plot(val_epochs, [v.val_balanced_accuracy for _, v in validated], label="validation balanced acc.")
        if validated[-1][1].val_crowd_balanced_accuracy is not None:
            ax_acc.plot(
                val_epochs,
                [v.val_crowd_balanced_accuracy for _, v in validated],
                label="validation balanced acc. (crowd majority)",
            )
    ax_acc.plot(epochs, [h.train_accuracy for h in history], label="train accuracy (augmented)")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0, 1))
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    save_figure(fig, path)


def plot_confusion(metrics: Metrics, path: str | os.PathLike[str], title: str = "") -> None:
    """Row-normalised confusion matrix with counts in each cell."""
    counts = metrics.confusion
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
    k = len(metrics.classes)
    fig = Figure(figsize=(1.2 * k + 2, 1.1 * k + 1.5))
    ax = fig.subplots()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of true class")
    ax.set_xticks(range(k), metrics.classes, rotation=45, ha="right")
    ax.set_yticks(range(k), metrics.classes)
    ax.set(
        xlabel="predicted",
        ylabel="true",
        title=title or f"balanced acc. {metrics.balanced_accuracy:.3f}, acc. {metrics.accuracy:.3f}",
    )
    for i in range(k):
        for j in range(k):
            ax.text(
                j,
                i,
                f"{counts[i, j]}\n{share[i, j]:.0%}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if share[i, j] > 0.5 else "black",
            )
    save_figure(fig, path)


def plot_reliability(
    cal: Reliability, path: str | os.PathLike[str], title: str = "", measure: str = "accuracy"
) -> None:
    """Per confidence bin: `measure` (accuracy, or the share of raters who agree) against the confidence."""
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    centers = (cal.edges[:-1] + cal.edges[1:]) / 2
    width = cal.edges[1] - cal.edges[0]
    filled = cal.counts > 0
    ax.bar(centers[filled], cal.accuracy[filled], width=width * 0.95, edgecolor="black", label=measure)
    ax.bar(
        centers[filled],
        cal.confidence[filled] - cal.accuracy[filled],
        bottom=cal.accuracy[filled],
        width=width * 0.95,
        color="red",
        alpha=0.3,
        label="gap to confidence",
    )
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    ax.set(xlabel="top-1 confidence", ylabel=measure, xlim=(0, 1), ylim=(0, 1), title=f"{title}: ECE {cal.ece:.3f}")
    ax.legend(loc="upper left")
    save_figure(fig, path)
