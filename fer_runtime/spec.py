"""`PreprocessSpec`: the single description of how an image becomes a model input.

Training, evaluation, export and the runtime all read the same spec, so what was measured in
training is what users get. It is stored in checkpoints, in the exported JSON and inside the ONNX
graph's metadata.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from fer_runtime.errors import FerError

SPEC_VERSION = 1
DEFAULT_CLASSES: tuple[str, ...] = ("angry", "happy", "neutral", "sad")
INTERPOLATIONS = ("area", "linear", "cubic", "nearest")


@dataclass(frozen=True)
class PreprocessSpec:
    """How a face crop is turned into a float tensor of shape [1, height, width].

    `mean` and `std` are in units of pixel/255 and come from the training split.
    `face_margin` is the fraction of a detected face box added on each side before cropping, when the
    detector gives no landmarks or the spec no `landmark_template`. `landmark_template` is where the
    training faces have their eyes, nose tip and mouth corners (x, y pairs as fractions of the frame,
    measured by `fer_train.landmark_template.measure_template` at export); with it, detected faces are
    warped onto those positions.
    """

    classes: tuple[str, ...] = DEFAULT_CLASSES
    height: int = 48
    width: int = 48
    channels: int = 1
    interpolation: str = "area"
    mean: float = 0.5
    std: float = 0.25
    layout: str = "NCHW"
    face_margin: float = 0.1
    landmark_template: tuple[float, ...] = ()
    version: int = field(default=SPEC_VERSION)

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", tuple(self.classes))
        object.__setattr__(self, "landmark_template", tuple(float(v) for v in self.landmark_template))
        if not self.classes or len(set(self.classes)) != len(self.classes):
            raise FerError(f"spec classes must be non-empty and unique, got {list(self.classes)}")
        if self.height < 1 or self.width < 1:
            raise FerError(f"spec input size must be positive, got {self.height}x{self.width}")
        if self.channels != 1:
            raise FerError(f"only grayscale (1 channel) input is supported, got {self.channels}")
        if self.interpolation not in INTERPOLATIONS:
            raise FerError(f"unknown interpolation {self.interpolation!r}; use one of {INTERPOLATIONS}")
        if not self.std > 0:
            raise FerError(f"spec std must be positive, got {self.std}")
        if self.layout != "NCHW":
            raise FerError(f"only NCHW layout is supported, got {self.layout!r}")
        template = self.landmark_template
        if template and (len(template) != 10 or not all(-0.5 <= v <= 1.5 for v in template)):
            raise FerError(f"landmark_template must be 5 (x, y) pairs as fractions of the frame, got {list(template)}")
        if self.version != SPEC_VERSION:
            raise FerError(f"preprocessing spec version {self.version} is not supported (this is {SPEC_VERSION})")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["classes"] = list(self.classes)
        data["landmark_template"] = list(self.landmark_template)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreprocessSpec:
        if not isinstance(data, dict):
            raise FerError("preprocessing spec must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise FerError(f"preprocessing spec has unknown keys: {', '.join(unknown)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise FerError(f"invalid preprocessing spec: {exc}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> PreprocessSpec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FerError(f"preprocessing spec is not valid JSON: {exc}") from None
        return cls.from_dict(data)
