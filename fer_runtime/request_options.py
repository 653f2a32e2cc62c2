"""The options a caller sets per request, declared once: `fer-run`'s click options, the service's query parser,
its OpenAPI schema and `RecognizerSettings`' range checks are all made from `REQUEST_OPTIONS`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fer_runtime.defaults import DETECT_THRESHOLD


@dataclass(frozen=True)
class RequestOption:
    """One option: its name (the query key and the Python keyword; `--name-with-dashes` on the command line),
    its kind, its range (`low`/`high`, open where `open_low`/`open_high`), the command line's default and help."""

    name: str
    kind: type[float] | type[int] | type[bool]
    help: str
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    default: float | int | bool | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def range_text(self) -> str:
        """`in [0, 1]`, `in (0, 1)`, `at least 1`, ... (empty for a flag)."""
        if self.low is not None and self.high is not None:
            return f"in {'(' if self.open_low else '['}{self.low:g}, {self.high:g}{')' if self.open_high else ']'}"
        if self.low is not None:
            return f"{'over' if self.open_low else 'at least'} {self.low:g}"
        return ""

    def in_range(self, value: float) -> bool:
        low_ok = self.low is None or (value > self.low if self.open_low else value >= self.low)
        high_ok = self.high is None or (value < self.high if self.open_high else value <= self.high)
        return low_ok and high_ok

    def out_of_range(self, value: float) -> str | None:
        """The one-line complaint about `value`, or None when it is in range."""
        return None if self.in_range(value) else f"{self.name} must be {self.range_text()}, got {value}"

    def json_schema(self) -> dict[str, Any]:
        """Its OpenAPI (JSON Schema) type and range."""
        schema: dict[str, Any] = {"type": {float: "number", int: "integer", bool: "boolean"}[self.kind]}
        if self.low is not None:
            schema["exclusiveMinimum" if self.open_low else "minimum"] = self.low
        if self.high is not None:
            schema["exclusiveMaximum" if self.open_high else "maximum"] = self.high
        return schema


MIN_CONFIDENCE = RequestOption(
    "min_confidence",
    float,
    "Label a face 'uncertain' when its top score is under P (its scores are still reported). For a model "
    "calibrated on crowd votes, P is about the share of raters who would agree.",
    low=0,
    high=1,
    default=0.0,
)
TOP_K = RequestOption("top_k", int, "Report only the K most likely classes per face.", low=1)
DETECT_THRESHOLD_OPTION = RequestOption(
    "detect_threshold",
    float,
    "YuNet's score under which a candidate is not a face.",
    low=0,
    high=1,
    open_low=True,
    open_high=True,
    default=DETECT_THRESHOLD,
)
NO_DETECT = RequestOption("no_detect", bool, "Take every image as one face crop (no face detection).", default=False)
REQUEST_OPTIONS = (MIN_CONFIDENCE, TOP_K, DETECT_THRESHOLD_OPTION, NO_DETECT)
