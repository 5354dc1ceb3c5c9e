"""The run summary of ``ecg12 reconstruct --summary``: one CSV row per input, for pandas."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

from ecg12.cli.errors import message
from ecg12.leads import LEAD_NAMES
from ecg12.outputs import write_text

if TYPE_CHECKING:
    from ecg12.cli.batch import Job

COLUMNS = (
    "input",
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


def write_summary(path: Path, jobs: list[Job], overwrite: bool = False) -> Path:
    """Write the table atomically; empty cells where a value does not apply (failed, skipped)."""
    buffer = io.StringIO()
    table = csv.writer(buffer, lineterminator="\n")
    table.writerow(COLUMNS)
    for job in jobs:
        rec = job.result
        errors = [] if rec is None or rec.expected_error_mv is None else rec.expected_error_mv
        table.writerow(
            [
                str(job.path),
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
        )
    return write_text(path, buffer.getvalue(), overwrite)
