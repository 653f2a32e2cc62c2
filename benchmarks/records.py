"""What the benchmark's typed result records share: reading a record's own fields out of a result's JSON, and
writing a record that carries a `run` (a `WrkRun`) with its other fields beside the run's."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, TypeVar


def record_fields(cls: type, data: dict[str, Any], *skip: str) -> dict[str, Any]:
    """The keys of `data` that are fields of the dataclass `cls`, less `skip` (those its reader builds itself);
    other keys (a part's own beside a record) are left out."""
    names = {f.name for f in fields(cls)} - set(skip)
    return {k: v for k, v in data.items() if k in names}


Record = TypeVar("Record", bound="JsonRecord")


class JsonRecord:
    """For a frozen dataclass whose JSON is its fields as they are: `to_json` and `from_json`."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_json(cls: type[Record], data: dict[str, Any]) -> Record:
        return cls(**record_fields(cls, data))


def beside_run_json(record: Any, **nested: Any) -> dict[str, Any]:
    """A record that holds a `run: WrkRun` as JSON: the run's figures with the record's other fields beside them,
    `nested` (records already as JSON) in place of those of the same names."""
    own = {f.name: getattr(record, f.name) for f in fields(record) if f.name != "run"}
    return {**record.run.to_json(), **own, **nested}
