"""What the benchmark's typed result records share: reading a record's own fields out of a result's JSON."""

from __future__ import annotations

from dataclasses import fields
from typing import Any


def record_fields(cls: type, data: dict[str, Any], *skip: str) -> dict[str, Any]:
    """The keys of `data` that are fields of the dataclass `cls`, less `skip` (those its reader builds itself);
    other keys (a part's own beside a record) are left out."""
    names = {f.name for f in fields(cls)} - set(skip)
    return {k: v for k, v in data.items() if k in names}
