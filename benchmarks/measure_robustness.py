"""`python -m benchmarks robustness [--quick] [--update-docs]`: how each shipped model's answer holds when the face
is blurred, noisy, compressed, dark, flat, small, turned, boxed differently, partly covered or mirrored
(`fer_train.shifts`, two severities each), on the validation faces (FER+'s PublicTest) and Test_250, with the
`fer` peer on the same faces where it is installed. Per shift: balanced accuracy against the raters' majority,
its drop from the clean faces, and the share of faces whose top-1 answer changed; and the same shifts on whole
photos through the bundled model's pipeline (`benchmarks.photo_robustness`): faces found again, answers changed."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from benchmarks.angry_faces import angry_faces
from benchmarks.drop_interval import drop_intervals
from benchmarks.framing import framing_comparison
from benchmarks.measure_peer import PEER_CLASSES, PeerModel, peer_model_file, peer_probabilities
from benchmarks.photo_robustness import photo_robustness, photos
from benchmarks.robustness_runs import Column, ShiftScore, SplitRobustness
from fer_runtime.defaults import PRIORS
from fer_runtime.errors import FerError
from fer_runtime.model_files import DEFAULT_MODEL_NAME, bundled_model_dir, read_description
from fer_runtime.postprocess import softmax
from fer_runtime.recognizer import Recognizer
from fer_runtime.spec import PreprocessSpec
from fer_train.checkpoint import LoadedModel
from fer_train.crowd_metrics import crowd_metrics
from fer_train.data import FaceDataset, load_with_votes
from fer_train.faceapi.expression import CLASSES as EXPRESSION_CLASSES
from fer_train.faceapi.expression import MANIFEST as EXPRESSION_MANIFEST
from fer_train.graph_model import load_any_model
from fer_train.predict import Predictor, predict_logits
from fer_train.shifts import SEVERITIES, SHIFTS, shifted
from fer_train.votes import FaceVotes, VoteTable, match_votes, read_votes

THREADS = 2
FACE_API_EXPRESSION = (
    Path(__file__).resolve().parents[1] / "web/node_modules/@vladmandic/face-api/model" / EXPRESSION_MANIFEST
)
QUICK_FACES = 200  # per split in a --quick run
MAX_MEAN_DROP, MAX_WORST_DROP, MAX_CHANGED = 0.03, 0.08, 0.10  # the goals, at the moderate severity

Probabilities = Callable[[np.ndarray], np.ndarray]  # uint8 faces [N, H, W] → [N, C]


@dataclass(frozen=True)
class Contender:
    column: Column  # what its column measures, and the column's name
    spec: PreprocessSpec  # its classes, and how its faces are loaded
    probabilities: Probabilities

    @property
    def name(self) -> str:
        return self.column.name


def contenders(
    folder: Path, flipped: tuple[str, ...] = (), priors: tuple[tuple[str, str], ...] = ()
) -> list[Contender]:
    """Every model exported in `folder` on its int8 graph (the one the runtime runs), the default first; then the
    models named in `flipped` with the test-time flip (`--tta flip`) as "NAME (flip)", and each (name, choice) of
    `priors` under that prior as "NAME (CHOICE prior)"; the peer last when it is installed (on the first model's
    classes)."""
    names = sorted(p.stem for p in folder.glob("*.json"))
    names.sort(key=lambda name: name != DEFAULT_MODEL_NAME)
    columns = [
        *(Column(kind="shipped", model=n) for n in names),
        *(Column(kind="shipped", model=n, tta="flip") for n in flipped),
        *(Column(kind="shipped", model=n, prior=choice) for n, choice in priors),
    ]
    unknown = sorted({c.model for c in columns} - set(names))
    if unknown:
        raise FerError(f"no model {', '.join(unknown)} in {folder} to measure")
    found = []
    for column in columns:
        description = read_description(folder / f"{column.model}.json")
        graph = folder / description.graph_file("int8")
        predictor = Predictor(graph, threads=THREADS, tta=column.tta, prior=column.prior)
        found.append(Contender(column, description.spec, predictor.probabilities))
    peer = peer_model_file()
    if isinstance(peer, str):
        print(f"robustness: no column for the `fer` peer: {peer}", file=sys.stderr)
    elif all(c in PEER_CLASSES for c in found[0].spec.classes):
        model, spec = PeerModel(peer, THREADS), found[0].spec
        found.append(
            Contender(Column(kind="peer", model="fer"), spec, lambda p: peer_probabilities(model, p, spec.classes))
        )
    return found


def teachers(paths: list[Path], classes: tuple[str, ...]) -> list[Contender]:
    """Teachers in PyTorch (checkpoints, or face-api's expression net by its manifest) on `classes`, measured like
    the shipped models (no flip), never shipped. Batches of 64: these 112-pixel nets run slower in larger ones."""
    found = []
    for path in paths:
        loaded = load_any_model(path, classes)

        def probabilities(pixels: np.ndarray, loaded: LoadedModel = loaded) -> np.ndarray:
            return softmax(predict_logits(loaded.model, pixels, loaded.spec, batch_size=64).astype(np.float64))

        name = "face-api expression" if path.name == EXPRESSION_MANIFEST else f"{path.parent.name}/{path.name}"
        found.append(Contender(Column(kind="teacher", model=name), loaded.spec, probabilities))
    return found


def default_teachers(classes: tuple[str, ...]) -> list[Path]:
    """face-api's expression net where `npm ci --prefix web` installed it and it knows every class in `classes`
    (it has no contempt, so an 8-class run measures no default teacher)."""
    covered = set(classes) <= set(EXPRESSION_CLASSES)
    return [FACE_API_EXPRESSION] if covered and FACE_API_EXPRESSION.is_file() else []


def _faces(path: Path, spec: PreprocessSpec, table: VoteTable, limit: int | None) -> tuple[FaceDataset, FaceVotes]:
    dataset = load_with_votes(path, spec, None, table)
    if limit is not None:
        keep = np.random.default_rng(0).permutation(len(dataset.pixels))[:limit]
        dataset = dataset.subset(np.sort(keep))
    return dataset, match_votes(table, dataset.paths, path.name)


def _score(p: np.ndarray, votes: FaceVotes, classes: tuple[str, ...]) -> float:
    return crowd_metrics(p, votes, classes).majority.balanced_accuracy


def robustness_of(contender: Contender, dataset: FaceDataset, votes: FaceVotes) -> SplitRobustness:
    """Clean balanced accuracy against the raters, and per shift and severity: accuracy, drop, changed answers;
    and the intervals of the mean and worst drops at the moderate severity."""
    classes = contender.spec.classes
    clean = contender.probabilities(dataset.pixels)
    clean_score, clean_top = _score(clean, votes, classes), clean.argmax(1)
    shifts: dict[str, dict[str, ShiftScore]] = {}
    moderate_tops = []
    for shift in SHIFTS:
        shifts[shift.name] = {}
        for severity in SEVERITIES if shift.moderate != shift.strong else SEVERITIES[:1]:
            p = contender.probabilities(shifted(dataset.pixels, shift, severity))
            score = _score(p, votes, classes)
            changed = float((p.argmax(1) != clean_top).mean())
            shifts[shift.name][severity] = ShiftScore(balanced=score, drop=clean_score - score, changed=changed)
            if severity == SEVERITIES[0]:
                moderate_tops.append(p.argmax(1))
    measured = SplitRobustness(clean=clean_score, faces=len(dataset.pixels), shifts=shifts, intervals=None)
    worst = list(shifts).index(measured.worst_shift)  # the rows of moderate_tops are in the order of `shifts`
    intervals = drop_intervals(
        truth=votes.majority(), clean=clean_top, shifted=np.stack(moderate_tops), worst=worst, classes=classes
    )
    return replace(measured, intervals=intervals)


def robustness_benchmark(
    data: Path,
    quick: bool,
    models: Path | None = None,
    teacher_paths: list[Path] | None = None,
    flipped: tuple[str, ...] = (),
    priors: tuple[tuple[str, str], ...] = (),
) -> dict[str, Any]:
    """Every model in `models` (default: the shipped ones; those in `flipped` also with the test-time flip, those in
    `priors` also under another prior) and teacher (default: `default_teachers`) on both splits, and the
    whole-photo part."""
    splits = {"val": data / "fer2013" / "val.zip", "Test_250": data / "seed" / "Test_250.zip"}
    votes_csv = data / "ferplus" / "votes.csv"
    limit = QUICK_FACES if quick else None
    results: dict[str, dict[str, Any]] = {}
    everyone = contenders(models or bundled_model_dir(), flipped, priors)
    classes = everyone[0].spec.classes
    everyone += teachers(default_teachers(classes) if teacher_paths is None else teacher_paths, classes)
    with tqdm(total=len(everyone) * len(splits), desc="robustness", unit="model x split") as bar:
        for contender in everyone:
            table = read_votes(votes_csv, contender.spec.classes)
            for split, path in splits.items():
                dataset, votes = _faces(path, contender.spec, table, limit)
                results.setdefault(contender.name, {})[split] = robustness_of(contender, dataset, votes).to_json()
                bar.update()
    severities = {s.name: {"what": s.what, "moderate": s.moderate, "strong": s.strong} for s in SHIFTS}
    images = photos(data / "photos")  # decoded once for the whole-photo part and the framing comparison
    whole = photo_robustness(Recognizer(threads=THREADS), images)
    return {
        "quick": quick,
        "threads": THREADS,
        "severities": severities,
        "columns": {c.name: c.column.to_json() for c in everyone},
        "models": results,
        "photos": whole.to_json(),
        "angry": angry_faces(data).to_json(),
        "framing": framing_comparison(data, images).to_json(),
    }


def main(argv: list[str] | None = None) -> None:
    from benchmarks.part import REPO, part_parser, part_result, write_result
    from benchmarks.report_robustness import robustness_markdown, write_robustness_docs

    parser = part_parser("python -m benchmarks robustness", __doc__)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_FACES} faces per split: a smoke test.")
    parser.add_argument("--update-docs", action="store_true", help="Write docs/robustness.md and its plot.")
    parser.add_argument("--models", type=Path, help="A folder of exported models (default: the shipped ones).")
    parser.add_argument(
        "--teacher",
        type=Path,
        action="append",
        help="A checkpoint or face-api weights manifest measured beside them, in the first model's classes "
        "(repeatable; default: face-api's expression net where `npm ci --prefix web` installed it and it has "
        "those classes).",
    )
    parser.add_argument(
        "--flip",
        action="append",
        default=[],
        metavar="NAME",
        help="Measure this model also with the test-time flip (`--tta flip`: the model runs twice); repeatable.",
    )
    parser.add_argument(
        "--prior",
        action="append",
        default=[],
        type=_model_prior,
        metavar="NAME=CHOICE",
        help=f"Measure this model also under this class prior ({', '.join(PRIORS)}); repeatable.",
    )
    args = parser.parse_args(argv)
    measured = robustness_benchmark(
        args.data, args.quick, args.models, args.teacher, tuple(args.flip), tuple(args.prior)
    )
    result = part_result("robustness", measured)
    write_result(args.out, "robustness", result, robustness_markdown)
    if args.update_docs:  # from the same result: the same date and figures as the JSON
        write_robustness_docs(result, REPO / "docs")


def _model_prior(text: str) -> tuple[str, str]:
    name, _, choice = text.partition("=")
    if not name or choice not in PRIORS:
        raise argparse.ArgumentTypeError(f"{text!r}: give NAME=CHOICE, CHOICE one of {', '.join(PRIORS)}")
    return name, choice


if __name__ == "__main__":
    main()
