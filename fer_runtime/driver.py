"""The one run driver behind `fer-run INPUTS`, whatever the engine: the to-do list (with `resume`, the files
an earlier run already wrote are skipped), the results table (flushed after every batch), the per-file
callback and the summary. An engine only yields the outcomes of each batch of files, in input order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fer_runtime.table import TableWriter


@dataclass(frozen=True)
class ImageOutcome:
    """One input file: its record (file and faces), or the one-line error that stopped it."""

    path: Path
    record: dict[str, Any] | None
    error: str | None = None


@dataclass(frozen=True)
class ImagesSummary:
    total: int
    failures: int
    written: int  # records this run added to the output table
    skipped: int = 0  # files an earlier run had already written (resume)


Engine = Callable[[Sequence[Path]], Iterable[list[ImageOutcome]]]  # files to do → their outcomes, batch by batch


def drive(
    paths: Sequence[Path],
    engine: Engine,
    *,
    classes: Sequence[str],
    output: Path | None = None,
    on_image: Callable[[ImageOutcome], None] | None = None,
    resume: bool = False,
) -> ImagesSummary:
    """Run `engine` over `paths` (those not yet in `output` when resuming), writing each record into the
    `output` table (.csv, .jsonl or .parquet) and passing each outcome to `on_image`."""
    failures = 0
    table = TableWriter(output, classes, resume=resume) if output is not None else nullcontext(None)
    with table as writer:
        todo = [p for p in paths if str(p) not in writer.done] if writer is not None else list(paths)
        for batch in engine(todo) if todo else ():
            for outcome in batch:
                if outcome.record is None:
                    failures += 1
                elif writer is not None:
                    writer.write(outcome.record)
                if on_image is not None:
                    on_image(outcome)
            if writer is not None:
                writer.flush()
    return ImagesSummary(len(paths), failures, writer.count if writer is not None else 0, len(paths) - len(todo))
