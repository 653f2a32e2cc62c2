"""Why the default calls angry faces neutral (#33): on the validation faces, what the raters said about the faces
FER2013's one rater labelled angry, what the default answers for them, and what a stronger division by the
class prior at run time (`postprocess.reweight` past the `uniform` choice) does to every class's recall
against the raters' majority."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.records import JsonRecord
from fer_runtime.markdown import markdown_table
from fer_runtime.model_files import DEFAULT_MODEL_NAME, bundled_model_dir, read_description
from fer_runtime.postprocess import reweight
from fer_train.data import load_with_votes
from fer_train.predict import Predictor
from fer_train.votes import match_votes, read_votes

EXTRA_POWERS = (0.0, 0.25, 0.5, 1.0)  # divided out on top of the default prior's


@dataclass(frozen=True)
class PriorPower(JsonRecord):
    """Recall against the raters' majority with the class prior divided out `extra_power` past the default's."""

    extra_power: float
    recall: dict[str, float]
    balanced: float


@dataclass(frozen=True)
class AngryFaces:
    """The validation faces FER2013's one rater labelled angry, and those the raters' majority calls angry."""

    model: str
    labelled_angry: int
    raters_said: dict[str, int]  # the raters' majority for the faces labelled angry (and "no majority")
    model_said: dict[str, int]  # the model's answers for them
    called_neutral_raters_neutral: float  # of those it calls neutral, the share the majority calls neutral too
    crowd_angry: int
    crowd_angry_called_neutral: int
    crowd_angry_recall: float
    vote_shares_when_called_neutral: dict[str, float]  # mean vote shares of the crowd-angry faces called neutral
    prior_powers: list[PriorPower]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AngryFaces:
        own = {k: v for k, v in data.items() if k != "prior_powers"}
        return cls(**own, prior_powers=[PriorPower.from_json(row) for row in data["prior_powers"]])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _counts(values: np.ndarray, classes: tuple[str, ...]) -> dict[str, int]:
    counts = {c: int((values == i).sum()) for i, c in enumerate(classes)}
    return counts | {"no majority": int((values < 0).sum())}


def angry_faces(data: Path) -> AngryFaces:
    description = read_description(bundled_model_dir() / f"{DEFAULT_MODEL_NAME}.json")
    classes = description.classes
    table = read_votes(data / "ferplus" / "votes.csv", classes)
    val = load_with_votes(data / "fer2013" / "val.zip", description.spec, None, table)
    votes = match_votes(table, val.paths, "val")
    majority = votes.majority()
    probabilities = Predictor(bundled_model_dir() / description.graph_file("int8")).probabilities(val.pixels)
    angry, neutral = classes.index("angry"), classes.index("neutral")
    labelled = val.labels == angry  # FER2013's one rater said angry
    called = probabilities.argmax(1)
    crowd_angry = majority == angry
    shares = description.prior_shares()
    called_neutral = labelled & (called == neutral)
    by_power = []
    for extra in EXTRA_POWERS:
        top = (probabilities if shares is None else reweight(probabilities, shares, -extra)).argmax(1)
        recall = {c: float((top[majority == i] == i).mean()) for i, c in enumerate(classes)}
        by_power.append(PriorPower(extra, recall, float(np.mean(list(recall.values())))))
    crowd_neutral_shares = votes.distribution()[crowd_angry & (called == neutral)].mean(0)
    return AngryFaces(
        model=description.name,
        labelled_angry=int(labelled.sum()),
        raters_said=_counts(majority[labelled], classes),
        model_said=_counts(called[labelled], classes),
        called_neutral_raters_neutral=float((majority[called_neutral] == neutral).mean()),
        crowd_angry=int(crowd_angry.sum()),
        crowd_angry_called_neutral=int((called[crowd_angry] == neutral).sum()),
        crowd_angry_recall=float((called[crowd_angry] == angry).mean()),
        vote_shares_when_called_neutral={c: float(v) for c, v in zip(classes, crowd_neutral_shares)},
        prior_powers=by_power,
    )


def angry_markdown(part: AngryFaces) -> list[str]:
    said, called = part.raters_said, part.model_said
    shares = ", ".join(f"{c} {v:.2f}" for c, v in part.vote_shares_when_called_neutral.items())
    lines = [
        f"Of the {part.labelled_angry} validation faces FER2013's one rater labelled angry, the ten raters' "
        "majority said "
        + ", ".join(f"{c} {n}" for c, n in said.items())
        + f"; `{part.model}` says "
        + ", ".join(f"{c} {n}" for c, n in called.items() if c != "no majority")
        + f"; of those it calls neutral, the raters' majority calls {part.called_neutral_raters_neutral:.0%} "
        f"neutral too. Of the {part.crowd_angry} faces the raters' majority calls angry it finds "
        f"{part.crowd_angry_recall:.1%} and calls {part.crowd_angry_called_neutral} neutral (their mean vote "
        f"shares: {shares}).",
        "",
        "Dividing the class prior out further at run time (power on top of the default's `uniform`), recall against "
        "the raters' majority:",
        "",
    ]
    rows = [
        (f"{row.extra_power:g}", *(f"{v:.3f}" for v in row.recall.values()), f"{row.balanced:.4f}")
        for row in part.prior_powers
    ]
    return lines + markdown_table(("extra power", *part.prior_powers[0].recall, "balanced"), rows)
