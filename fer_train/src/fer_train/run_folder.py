"""What a training run keeps in its folder: the checkpoint it resumes from, the metrics history (JSON,
CSV, curves) and the one-line epoch summary of its log."""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any

from fer_runtime.atomic import TEMPORARIES, write_text
from fer_runtime.errors import FerError
from fer_train.checkpoint import read_checkpoint
from fer_train.config import FitConfig
from fer_train.epoch_record import EpochRecord
from fer_train.plots import plot_curves

log = logging.getLogger(__name__)


def write_history(out: Path, history: list[EpochRecord]) -> None:
    rows = [record.to_json() for record in history]
    write_text(out / "metrics.json", json.dumps(rows, indent=2))
    columns = list(dict.fromkeys(k for row in rows for k, v in row.items() if not isinstance(v, dict)))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_text(out / "metrics.csv", buffer.getvalue())
    plot_curves(history, out / "curves.png")


def summary(record: EpochRecord, epochs: int) -> str:
    text = f"epoch {record.epoch}/{epochs}  loss {record.train_loss:.4f}  train acc {record.train_accuracy:.4f}"
    val = record.validation
    if val is not None:
        text += f"  val acc {val.val_accuracy:.4f}  val bal acc {val.val_balanced_accuracy:.4f}"
        if val.val_crowd_balanced_accuracy is not None:
            text += f"  crowd bal acc {val.val_crowd_balanced_accuracy:.4f}  KL {val.val_crowd_kl:.3f}"
    return text + f"  {record.images_per_second:.0f} img/s  {record.epoch_seconds or 0:.0f}s"


def restore(config: FitConfig, resume: bool) -> dict[str, Any] | None:
    """The checkpoint to continue from (None: a new run); refuses to overwrite a run or change its model."""
    out = Path(config.out)
    last_path = out / "last.pt"
    if not last_path.exists():
        if resume:
            log.info("no checkpoint in %s: starting a new run", out)
        return None
    if not resume:
        raise FerError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    state = read_checkpoint(last_path)
    saved = FitConfig.from_dict(state["config"])
    if (saved.model, saved.classes, saved.model_options) != (config.model, config.classes, config.model_options):
        raise FerError(
            f"{last_path} was trained as {saved.model} on {list(saved.classes)}; resume with the same model and classes"
        )
    for stale in out.glob(TEMPORARIES):  # half-written checkpoints of a killed run
        stale.unlink(missing_ok=True)  # another process of the run may have removed it
    return state
