"""MODEL_CARD.md for an exported model: what it is, how it was trained, how well it does."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any


from fer_runtime.atomic import write_text
from fer_runtime.errors import FerError
from fer_runtime.model_files import DEFAULT_MODEL_NAME
from fer_runtime.preprocess import model_input
from fer_runtime.recognizer import Recognizer
from fer_train.data import load_dataset
from fer_train.graph_stats import graph_stats
from fer_train.metrics import Metrics, compute_metrics


def _toml(recipe: dict[str, Any]) -> str:
    def value(v: Any) -> str:
        return json.dumps(v) if not isinstance(v, bool) else str(v).lower()

    skip = {"out", "cache_dir", "threads"}
    flat = [f"{k} = {value(v)}" for k, v in recipe.items() if not isinstance(v, dict) and k not in skip
            and v is not None]
    tables = [f"\n[{k}]\n" + "\n".join(f"{kk} = {value(vv)}" for kk, vv in v.items())
              for k, v in recipe.items() if isinstance(v, dict) and v]
    return "\n".join(flat) + "".join(tables)


def _metrics_row(split: str, graph: str, m: Metrics) -> str:
    recalls = " | ".join(f"{r:.3f}" for r in m.per_class_recall.values())
    return f"| {split} | {graph} | {m.total} | {m.accuracy:.4f} | {m.balanced_accuracy:.4f} | {recalls} |"


def _confusion_table(m: Metrics) -> str:
    head = "| true \\ predicted | " + " | ".join(m.classes) + " | recall |"
    rule = "|---" * (len(m.classes) + 2) + "|"
    rows = [f"| **{c}** | " + " | ".join(str(int(v)) for v in row) + f" | {m.per_class_recall[c]:.3f} |"
            for c, row in zip(m.classes, m.confusion)]
    return "\n".join([head, rule, *rows])


def evaluate_graph(graph: Path, data: str, cache_dir: str | None = None) -> Metrics:
    recognizer = Recognizer(graph)
    spec = recognizer.spec
    dataset = load_dataset(data, spec.classes, spec, cache_dir)
    logits = recognizer.logits(model_input(dataset.pixels, spec))
    return compute_metrics(dataset.labels, logits.argmax(1), spec.classes)


def write_model_card(export_dir: str | os.PathLike[str], name: str, test_sets: Sequence[str],
                     cache_dir: str | None = None) -> Path:
    folder = Path(export_dir)
    json_path = folder / f"{name}.json"
    if not json_path.is_file():
        raise FerError(f"{json_path} not found: export the model first")
    description = json.loads(json_path.read_text())
    graphs = {kind: folder / g["file"] for kind, g in description["graphs"].items()}
    provenance = description.get("provenance", {})
    classes = description["classes"]
    stats = {kind: graph_stats(path) for kind, path in graphs.items()}
    results = {(Path(data).name, kind): evaluate_graph(path, data, cache_dir)
               for data in test_sets for kind, path in graphs.items()}

    model = description.get("model", {})
    validation = provenance.get("validation") or {}
    lines = [
        f"# {name}: model card", "",
        f"A {len(classes)}-class facial-emotion classifier ({', '.join(classes)}) for 48x48 grayscale face "
        f"crops, exported for `fer_runtime`.", "",
        "## Model", "",
        f"- Architecture: `{model.get('name')}` with options `{json.dumps(model.get('options', {}))}`",
        f"- Parameters: {stats['float'].parameters:,} (BatchNorm folded); "
        f"MACs per image: {stats['float'].macs_per_image / 1e6:.1f} M",
        *(f"- `{graphs[k].name}`: {s.file_bytes / 1e6:.2f} MB" for k, s in stats.items()),
        f"- Preprocessing: `{json.dumps(description['spec'])}`", "",
        "## Training", "",
        f"- Data: `{(provenance.get('data') or {}).get('path')}` ({(provenance.get('data') or {}).get('images')} "
        f"images); model selection on `{(provenance.get('val') or {}).get('path')}`",
        f"- Epochs: {(provenance.get('recipe') or {}).get('epochs', '?')} in the recipe; the shipped checkpoint is "
        f"from epoch {provenance.get('best_epoch')} (best validation balanced accuracy)",
        f"- Wall time up to that epoch: {provenance.get('train_wall_seconds', 0) / 60:.1f} min on the machine that "
        "trained it (2 CPU cores)",
    ]
    if validation.get("val_balanced_accuracy") is not None:
        lines.append(f"- Validation at the best epoch: accuracy {validation['val_accuracy']:.4f}, balanced accuracy "
                     f"{validation['val_balanced_accuracy']:.4f}; recall "
                     + ", ".join(f"{k} {v:.3f}" for k, v in validation.get("val_recall", {}).items()))
    if provenance.get("recipe"):
        lines += ["", "Recipe (save as a .toml file and run `fer-train fit --config FILE --out runs/NAME`):", "",
                  "```toml", _toml(provenance["recipe"]), "```"]
    lines += ["", "## Test results", "",
              "Balanced accuracy is the mean of per-class recall (Test_250 holds 72 angry images, not 250).", "",
              "| split | graph | images | accuracy | balanced accuracy | " + " | ".join(classes) + " |",
              "|---" * (5 + len(classes)) + "|"]
    lines += [_metrics_row(split, kind, m) for (split, kind), m in results.items()]
    default_kind = "int8" if "int8" in graphs else "float"
    for split in dict.fromkeys(s for s, _ in results):
        lines += ["", f"### Confusion matrix: {split}, {default_kind} graph", "",
                  _confusion_table(results[(split, default_kind)])]
    parity = description.get("parity")
    if parity:
        lines += ["", "## Export checks", "",
                  f"On `{Path(parity['data']).name}`: ONNX float vs PyTorch max |Δlogit| "
                  f"{parity['float_max_abs_logit_diff']:.1e}, top-1 agreement {parity['float_top1_agreement']:.2%}"
                  + (f"; int8 vs float agreement {parity['int8_top1_agreement']:.2%}, accuracy change "
                     f"{-parity['int8_accuracy_drop'] * 100:+.2f} points" if "int8_top1_agreement" in parity else "")
                  + "."]
    lines += ["", "## Limits", "",
              "FER2013 faces are small, low-resolution and noisy, and some labels are wrong; the classes are "
              "posed or spontaneous expressions, not felt emotions. Whole photos go through OpenCV's Haar "
              "frontal-face detector first, which misses profile and small faces.", ""]
    path = folder / ("MODEL_CARD.md" if name == DEFAULT_MODEL_NAME else f"{name}.MODEL_CARD.md")
    write_text(path, "\n".join(lines))
    return path
