"""How close a model's probabilities are to what the raters saw (NumPy only).

The field's own figure (`ferplus`: FER+'s majority rule on every face of a split) is printed first when
it was scored.
Against the raters' majority (faces whose majority is one of the model's classes, ties left out):
accuracy, balanced accuracy, per-class recall and accuracy on the share of faces the model is surest
of. Against the vote distribution over the model's classes: KL(votes ‖ model), the Brier score and
the calibration error of the top probability against the share of raters who chose that class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fer_train.ferplus import FerPlusMetrics, format_ferplus
from fer_train.metrics import Metrics, Reliability, compute_metrics, reliability
from fer_train.votes import FaceVotes

COVERAGE = 0.8  # selective accuracy: on this share of the majority faces, the most confident first


@dataclass(frozen=True)
class CrowdMetrics:
    majority: Metrics  # against the raters' majority
    kl: float  # mean KL(votes ‖ model) over faces with votes among the classes
    brier: float  # mean squared distance between the probabilities and the vote shares
    reliability: Reliability  # top probability against the share of raters who chose that class
    covered_accuracy: float  # accuracy against the majority on the COVERAGE most confident faces
    faces_with_votes: int
    ferplus: FerPlusMetrics | None = None  # on every face of the split (`ferplus.with_ferplus`), when scored

    def to_dict(self) -> dict[str, Any]:
        return {
            "ferplus": self.ferplus.to_dict() if self.ferplus else None,
            "majority": self.majority.to_dict(),
            "kl": self.kl,
            "brier": self.brier,
            "ece": self.reliability.ece,
            "coverage": COVERAGE,
            "covered_accuracy": self.covered_accuracy,
            "faces_with_votes": self.faces_with_votes,
        }


def covered_accuracy(confidence: np.ndarray, correct: np.ndarray, coverage: float = COVERAGE) -> float:
    """Accuracy over the `coverage` share of faces with the highest confidence."""
    keep = max(1, int(round(coverage * len(confidence)))) if len(confidence) else 0
    order = np.argsort(-confidence, kind="stable")[:keep]
    return float(correct[order].mean()) if keep else 0.0


def rater_reliability(probabilities: np.ndarray, shares: np.ndarray) -> Reliability:
    """Reliability of the top probability against the share of raters who chose that class ([N, C] both;
    with one-hot shares, the plain accuracy calibration)."""
    top = probabilities.argmax(1)
    return reliability(probabilities.max(1), shares[np.arange(len(shares)), top])


def crowd_metrics(probabilities: np.ndarray, votes: FaceVotes, classes: tuple[str, ...]) -> CrowdMetrics:
    """Score probabilities [N, C] against the faces' votes; FerError-free: faces without votes are left out."""
    voted = votes.in_class
    shares = votes.distribution()[voted]
    p = np.clip(probabilities[voted], 1e-12, 1.0)
    kl = np.sum(np.where(shares > 0, shares * np.log(np.where(shares > 0, shares, 1.0) / p), 0.0), axis=1)
    brier = np.sum((probabilities[voted] - shares) ** 2, axis=1)
    majority = votes.majority()
    has_majority = majority >= 0
    confidence = probabilities.max(1)
    hits = (probabilities.argmax(1) == majority)[has_majority]
    return CrowdMetrics(
        majority=compute_metrics(majority[has_majority], probabilities[has_majority].argmax(1), classes),
        kl=float(kl.mean()) if len(kl) else 0.0,
        brier=float(brier.mean()) if len(brier) else 0.0,
        reliability=rater_reliability(probabilities[voted], shares),
        covered_accuracy=covered_accuracy(confidence[has_majority], hits),
        faces_with_votes=int(voted.sum()),
    )


def format_crowd(m: CrowdMetrics) -> str:
    """The FER+ yardstick's line when it was scored, then the majority figures, then the distribution figures."""
    recalls = ", ".join(f"{k} {v:.3f}" for k, v in m.majority.per_class_recall.items())
    ferplus = format_ferplus(m.ferplus) + "\n" if m.ferplus is not None else ""
    return ferplus + (
        f"crowd majority ({m.majority.total} faces): accuracy {m.majority.accuracy:.4f}   balanced accuracy "
        f"{m.majority.balanced_accuracy:.4f}   recall {recalls}\n"
        f"crowd votes ({m.faces_with_votes} faces): KL {m.kl:.4f}   Brier {m.brier:.4f}   ECE {m.reliability.ece:.4f}"
        f"   accuracy at {COVERAGE:.0%} coverage {m.covered_accuracy:.4f}"
    )
