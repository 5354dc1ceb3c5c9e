"""The run summary of ``ecg12 reconstruct --summary``: one CSV row per input, for pandas."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ecg12.cli.errors import message
from ecg12.leads import LEAD_NAMES
from ecg12.outputs import atomic_file

if TYPE_CHECKING:
    from ecg12.cli.batch import Job

COLUMNS = (
    "input",
    "output",
    "status",
    "error",
    "duration_s",
    "input_fs",
    "input_leads",
    "model",
    "host_seconds",
    "n_warnings",
    "warnings",
    *(f"expected_error_mv_{name}" for name in LEAD_NAMES),
)


@contextmanager
def summary_table(path: Path, overwrite: bool = False) -> Iterator[Callable[[Job], None]]:
    """A function that adds a finished input's row to the table at ``path``, which appears only
    once the run is through (an existing one is refused unless ``overwrite``).

    Rows go to a temporary file as inputs finish, so a run need not keep each input's result
    until the end: memory stays flat however many files there are.
    """
    with atomic_file(path, overwrite) as f:

        def add(row: Sequence[object]) -> None:
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerow(row)
            f.write(buffer.getvalue().encode("utf-8"))

        add(COLUMNS)
        yield lambda job: add(summary_row(job))


def summary_row(job: Job) -> list[object]:
    """One input's row; empty cells where a value does not apply (failed, skipped)."""
    rec = job.result
    errors = [] if rec is None or rec.expected_error_mv is None else rec.expected_error_mv
    return [
        str(job.path),
        str(job.stem) if job.status in ("ok", "skipped") else "",  # the record: add the suffix
        job.status,
        "" if job.error is None else message(job.error),
        "" if rec is None else f"{job.samples / rec.fs:.3f}",
        "" if rec is None else f"{rec.input_fs:g}",
        "" if rec is None else "+".join(rec.input_leads),
        "" if rec is None else rec.model,
        f"{job.seconds:.4f}",
        "" if rec is None else len(rec.warnings),
        "" if rec is None else " | ".join(rec.warnings),
        *(f"{e:.4f}" for e in errors),
        *([""] * (12 - len(errors))),
    ]
