"""What `fer-train eda` measured, as typed records: `eda.run_eda` makes them, `eda_markdown` and the CLI read
them, `EdaReport.to_json` is `eda.json`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ClassLight:
    """One class's median brightness and contrast in a split (gray levels 0-255)."""

    median_brightness: float
    median_contrast: float


@dataclass(frozen=True)
class Blank:
    """Near-constant images of a split: how many, and the first files."""

    count: int
    files: tuple[str, ...]


@dataclass(frozen=True)
class WithinDuplicates:
    """Exact and near duplicates inside one split (blank images left out)."""

    exact_duplicate_groups: int
    exact_extra_copies: int
    near_duplicate_pairs: int
    images_in_near_pairs: int
    near_pairs_with_different_labels: int


@dataclass(frozen=True)
class SplitSummary:
    name: str
    path: str
    images: int
    counts: dict[str, int]  # class → images
    per_class: dict[str, ClassLight]
    blank: Blank
    duplicates: WithinDuplicates


@dataclass(frozen=True)
class BothSides:
    """A count in each split of a pair: images of the first with a copy in the second, and the other way."""

    first: int
    second: int


@dataclass(frozen=True)
class NearPair:
    """One near-duplicate pair across two splits: a file of each, and their hashes' distance in bits."""

    first_file: str
    second_file: str
    bits: int

    def to_json(self) -> dict[str, Any]:
        return {"in": self.first_file, "and": self.second_file, "bits": self.bits}


@dataclass(frozen=True)
class AcrossDuplicates:
    """Duplicates between two splits (`first`, `second`: their names)."""

    first: str
    second: str
    exact: BothSides
    near: BothSides  # exact copies included
    near_duplicate_pairs: int
    near_pairs_with_different_labels: int
    examples: tuple[NearPair, ...]  # the first few pairs

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "examples": [pair.to_json() for pair in self.examples]}


@dataclass(frozen=True)
class EdaReport:
    classes: tuple[str, ...]
    near_duplicate_max_bits: int
    blank_max_std: float
    face_images_omitted: bool
    splits: tuple[SplitSummary, ...]
    across: tuple[AcrossDuplicates, ...]  # every pair of splits

    def to_json(self) -> dict[str, Any]:
        """`eda.json`'s content."""
        return {**asdict(self), "across": [cross.to_json() for cross in self.across]}
