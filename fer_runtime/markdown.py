"""The one markdown table writer of docs, cards, reports and benchmarks: GitHub's pipe tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """The lines of a table: the header, its rule, then a line per row (cells written with str)."""
    return [_line(header), "|" + "---|" * len(header), *(_line(row) for row in rows)]


def goal_table(goals: Iterable[tuple[str, str, bool]], heading: str = "goal") -> list[str]:
    """A table of (goal, what was measured, whether it met the goal), unmet ones in bold."""
    return markdown_table(
        (heading, "measured", "met"), [(goal, value, "yes" if met else "**no**") for goal, value, met in goals]
    )


def _line(cells: Sequence[object]) -> str:
    return "|" + "".join(f" {cell} |" if str(cell) else " |" for cell in cells)
