"""MODEL_CARD.md for an exported model: what it is, how it was trained, how well it does.

Every fact comes from the model's description or from scoring it here: nothing about the data, the
machine or the model is written in as a literal.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fer_runtime.atomic import write_text
from fer_runtime.class_prior import ClassPrior
from fer_runtime.defaults import prior_choices_help
from fer_runtime.errors import FerError
from fer_runtime.model_files import DEFAULT_MODEL_NAME, ModelDescription, read_description
from fer_train.card_results import results_section
from fer_train.config import recipe_toml
from fer_train.derived_graphs import SOURCES
from fer_train.evaluate import Evaluation, evaluate_predictions, with_ferplus
from fer_train.graph_stats import graph_stats
from fer_train.predict import Predictor
from fer_train.votes import read_votes


def _threads(provenance: dict[str, Any]) -> str:
    threads = provenance.get("train_threads")
    if threads is None:  # exported before the threads were recorded: the recipe's setting, if it had one
        recipe_threads = (provenance.get("recipe") or {}).get("threads")
        threads = [recipe_threads] if recipe_threads else []
    return f"{'/'.join(map(str, threads))} torch thread(s)" if threads else "an unrecorded number of threads"


def _training(description: ModelDescription) -> list[str]:
    provenance = description.provenance
    data, val = provenance.get("data") or {}, provenance.get("val") or {}
    votes = provenance.get("votes")
    validation = provenance.get("validation") or {}
    lines = [
        f"- Data: `{data.get('path')}` ({data.get('images')} images); model selection on `{val.get('path')}`",
        f"- Epochs: {(provenance.get('recipe') or {}).get('epochs', '?')} in the recipe; the shipped checkpoint is "
        f"from epoch {provenance.get('best_epoch')}",
        f"- Wall time up to that epoch: {provenance.get('train_wall_seconds', 0) / 60:.1f} min on "
        f"{_threads(provenance)}",
    ]
    if (provenance.get("recipe") or {}).get("labels") == "votes":
        lines.append(
            "- Classes: every face's from FER+'s majority of its votes, not its folder (faces with no majority among "
            "the classes left out), so a class no folder has is learned"
        )
    if votes:
        lines.append(
            f"- Crowd votes: `{votes['path']}` (sha256 {votes['sha256'][:12]}…), {votes['train_matched']} "
            f"training faces matched, {votes['train_off_class']} mostly voted outside the classes "
            + ("(left out)" if votes["train_off_class_dropped"] else "(kept)")
        )
    if validation.get("val_balanced_accuracy") is not None:
        lines.append(
            f"- Validation at that epoch: accuracy {validation['val_accuracy']:.4f}, balanced accuracy "
            f"{validation['val_balanced_accuracy']:.4f}; recall "
            + ", ".join(f"{k} {v:.3f}" for k, v in validation.get("val_recall", {}).items())
        )
    if provenance.get("recipe"):
        lines += [
            "",
            "Recipe (save as a .toml file and run `fer-train fit --config FILE --out runs/NAME`):",
            "",
            "```toml",
            recipe_toml(provenance["recipe"]),
            "```",
        ]
    return lines


def _prior_lines(prior: ClassPrior | None) -> list[str]:
    if not prior:
        return [
            "",
            "No class prior is recorded: the scores are the trained posterior, and any `--prior` but `trained` is "
            "refused.",
        ]
    shares = ", ".join(f"{c} {p:.3f}" for c, p in prior.shares.items())
    return [
        "",
        f"Class prior: the training targets' class shares were {shares}. Scores are `{prior.default}` by default "
        f"(`fer-run --prior`, `Recognizer(prior=...)` choose): {prior_choices_help('`')} Under `trained`, for a "
        "model trained on votes a score is about the share of raters who would choose that class and "
        "`--min-confidence P` keeps faces most raters would agree on; under the others rare classes are found more "
        "often and a score is no longer a share of raters.",
    ]


def _temperature(description: ModelDescription) -> list[str]:
    fitted = description.temperature_fit
    prior = _prior_lines(description.prior)
    if fitted is None:
        return [
            "",
            "## Confidence",
            "",
            "No temperature was fitted: scores are the network's softmax as trained.",
            *prior,
        ]
    meaning = (
        "about the share of raters who would choose that class"
        if fitted["against"] == "votes"
        else "about the chance that the label is right"
    )
    return [
        "",
        "## Confidence",
        "",
        f"Scores are softmax(logits / {fitted['temperature']:.3f}), the temperature fitted on `{fitted['data']}` "
        f"({fitted['images']} faces) against the {fitted['against']} for "
        + (f"the `{fitted['prior']}` prior" if "prior" in fitted else "the graph's output as exported")
        + f"; a score means "
        f"{meaning}. Reliability error (ECE) there: {fitted['ece_before']:.4f} before, {fitted['ece_after']:.4f} after.",
        *prior,
    ]


def _model_section(description: ModelDescription, graphs: dict[str, Path]) -> list[str]:
    classes, spec = description.classes, description.spec
    article = "An" if str(len(classes)).startswith("8") or len(classes) in (11, 18) else "A"  # eight, eleven, ...
    stats = {kind: graph_stats(path) for kind, path in graphs.items()}
    derived = [(g.file, g.derived.source, g.suits) for g in description.graphs.values() if g.derived is not None]
    return [
        f"# {description.name}: model card",
        "",
        f"{article} {len(classes)}-class facial-emotion classifier "
        f"({', '.join(classes)}) for {spec.width}x{spec.height} {_pixels(spec.channels)} face crops, exported for "
        "`fer_runtime`.",
        "",
        "## Model",
        "",
        f"- Architecture: `{description.model.get('name')}` with options "
        f"`{json.dumps(description.model.get('options', {}))}`",
        f"- Parameters: {stats['float'].parameters:,} (BatchNorm folded); "
        f"MACs per image: {stats['float'].macs_per_image / 1e6:.1f} M",
        *(f"- `{graphs[k].name}`: {s.file_bytes / 1e6:.2f} MB" for k, s in stats.items()),
        *(f"- `{file}`: made from the {source} graph for {', '.join(suits)}" for file, source, suits in derived),
        f"- Preprocessing: `{json.dumps(spec.to_dict())}`",
    ]


def _pixels(channels: int) -> str:
    return "grayscale" if channels == 1 else f"{channels}-channel"


def _checks_section(parity: dict[str, Any] | None) -> list[str]:
    if not parity:
        return []
    int8 = (
        f"; int8 vs float agreement {parity['int8_top1_agreement']:.2%}, accuracy change "
        f"{0.0 - parity['int8_accuracy_drop'] * 100:+.2f} points"  # 0.0 - : no "-0.00"
        if "int8_top1_agreement" in parity
        else ""
    )
    return [
        "## Export checks",
        "",
        f"On `{Path(parity['data']).name}`: ONNX float vs PyTorch max |Δlogit| "
        f"{parity['float_max_abs_logit_diff']:.1e}, top-1 agreement {parity['float_top1_agreement']:.2%}{int8}.",
    ]


def _limits_section(description: ModelDescription) -> list[str]:
    spec, provenance = description.spec, description.provenance
    data = (provenance.get("data") or {}).get("path")
    judged = "raters' votes" if provenance.get("votes") else "labels"
    return [
        "## Limits",
        "",
        f"The model sees {spec.width}x{spec.height} {_pixels(spec.channels)} crops"
        + (f" and learned from `{Path(data).name}`" if data else "")
        + f": its classes are expressions as the training {judged} named them, not felt emotions, and it is "
        "only as good as those. Whole photos go through a face detector first, which misses profile and "
        "small faces.",
        "",
    ]


def write_model_card(
    export_dir: str | os.PathLike[str],
    name: str,
    test_sets: Sequence[str],
    cache_dir: str | None = None,
    votes: str | None = None,
) -> Path:
    """Score the exported model's graphs on `test_sets` (and against `votes`) and write its card beside it."""
    folder = Path(export_dir)
    json_path = folder / f"{name}.json"
    if not json_path.is_file():
        raise FerError(f"{json_path} not found: export the model first")
    description = read_description(json_path)
    graphs = {kind: folder / g.file for kind, g in description.graphs.items() if kind in SOURCES}
    table = read_votes(votes, description.classes) if votes else None
    predictors = {kind: Predictor(path) for kind, path in graphs.items()}
    results: dict[tuple[str, str], Evaluation] = {}
    for data in test_sets:
        for kind, predictor in predictors.items():
            evaluation = evaluate_predictions(predictor.predict(data, cache_dir, table), table)
            if table is not None:
                evaluation = with_ferplus(evaluation, predictor, data, table, cache_dir)
            results[(Path(data).name, kind)] = evaluation
    sections = [
        _model_section(description, graphs),
        ["## Training", "", *_training(description), *_temperature(description)],
        results_section(results, description.classes, "int8" if "int8" in graphs else "float"),
        _checks_section(description.parity),
        _limits_section(description),
    ]
    path = folder / ("MODEL_CARD.md" if name == DEFAULT_MODEL_NAME else f"{name}.MODEL_CARD.md")
    write_text(path, "\n\n".join("\n".join(section) for section in sections if section))
    return path
