"""The class prior an exported model records: the class shares its training targets had, the power of them its
graph already divides out, and which prior (`defaults.PRIORS`) the runtime applies unless told."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from fer_runtime.defaults import PRIORS
from fer_runtime.errors import FerError


@dataclass(frozen=True, kw_only=True)
class ClassPrior:
    shares: dict[str, float]  # class → its share of the training targets
    in_graph: float = 0.0  # the power of the shares the graph divides out (1 after balanced class weights)
    default: str = "trained"  # a PRIORS name

    def array(self, classes: tuple[str, ...]) -> np.ndarray:
        """The shares in class order."""
        return np.array([self.shares[c] for c in classes])

    def power_for(self, choice: str) -> float:
        """The power of the shares that takes the graph's probabilities to those of prior `choice`
        (`postprocess.reweight`)."""
        return self.in_graph - power_of(choice)

    def with_default(self, choice: str) -> ClassPrior:
        power_of(choice)
        return replace(self, default=choice)

    def to_dict(self) -> dict[str, Any]:
        return {"shares": self.shares, "in_graph": self.in_graph, "default": self.default}

    @classmethod
    def from_dict(cls, data: Any, classes: tuple[str, ...], origin: str) -> ClassPrior:
        """A description's `prior`, checked against its classes; FerError names `origin`."""
        shares = data.get("shares") if isinstance(data, dict) else None
        if (
            not isinstance(shares, dict)
            or list(shares) != list(classes)
            or not all(isinstance(v, (int, float)) and v > 0 for v in shares.values())
        ):
            raise FerError(
                f"{origin}: the prior's shares must be positive numbers for the classes {', '.join(classes)}"
            )
        if data.get("default") not in PRIORS:
            raise FerError(
                f"{origin}: the prior's default must be one of {', '.join(PRIORS)}, not {data.get('default')!r}"
            )
        in_graph = data.get("in_graph", 0.0)
        if not isinstance(in_graph, (int, float)):
            raise FerError(f"{origin}: the prior's in_graph must be a number, not {in_graph!r}")
        return cls(shares={c: float(v) for c, v in shares.items()}, in_graph=float(in_graph), default=data["default"])


def power_of(choice: str) -> float:
    """The power of the training shares that prior `choice` divides the trained posterior by."""
    if choice not in PRIORS:
        raise FerError(f"unknown prior {choice!r}; use one of {', '.join(PRIORS)}")
    return PRIORS[choice]
