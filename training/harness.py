"""What every study shares: a fold's records, reconstructing them through the public API (the
path users take), and the provenance, tables and JSON files of a page.

:mod:`training.evaluate`, :mod:`training.calibrate` and the studies (diagnostic fidelity, input
sets, figures, review kit) all score models on the same records in the same way; this module is
that one way.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import ecg12
from ecg12.errors import InputError
from ecg12.outputs import write_text
from ecg12.pipeline import to_rate
from ecg12.registry import Registry
from training.data import (
    LOW_RATE,
    TEST_FOLD,
    PtbxlRecord,
    expand,
    load_record,
    read_index,
    read_low_rate_fold,
)

#: The scoring rate: every output and every real record is compared at 500 Hz.
FS = 500.0
#: Records per reconstruct_many call: the API pools their windows into shared batches.
CHUNK = 64
PTBXL_CREDIT = (
    "PTB-XL 1.0.3 (Wagner et al., PTB-XL, a large publicly available "
    "electrocardiography dataset, Scientific Data 7, 154 (2020)), CC BY 4.0"
)


@dataclass(frozen=True)
class LowRateRecord:
    """A ``ptbxl100/`` record: its id and 12 leads (1000, 12) in mV at 100 Hz."""

    ecg_id: int
    leads: np.ndarray


Record = PtbxlRecord | LowRateRecord


def fold_records(
    ptbxl: Path,
    fold: int,
    limit: int | None = None,
    allow_test_fold: bool = False,
    ptbxl100: Path | None = None,
) -> list[Record]:
    """The fold's present 500 Hz records, then (from ``ptbxl100``) its 100 Hz ones; ``limit``
    applies to each; the test fold only when ``allow_test_fold``."""
    if fold == TEST_FOLD and not allow_test_fold:
        raise ValueError(
            f"fold {TEST_FOLD} is PTB-XL's test fold: nothing is tuned on it and only "
            "the maintainers score it (--i-know-this-is-the-test-fold)"
        )
    records: list[Record] = [r for r in read_index(ptbxl) if r.fold == fold][:limit]
    if ptbxl100 is not None:
        rows, eight = read_low_rate_fold(ptbxl100, fold, limit)
        twelve = expand(eight.astype(np.float32))
        records += [LowRateRecord(r.ecg_id, x) for r, x in zip(rows, twelve, strict=True)]
    if not records:
        raise ValueError(f"{ptbxl}: no records of fold {fold} present")
    return records


def record_rate(record: Record) -> float:
    """The rate a record was recorded at (Hz)."""
    return LOW_RATE if isinstance(record, LowRateRecord) else FS


def record_leads(record: Record) -> np.ndarray:
    """A record's 12 leads (mV) at its own rate."""
    if isinstance(record, LowRateRecord):
        return record.leads
    leads, fs = load_record(record.path)
    if fs != FS:
        raise ValueError(f"{record.path}: expected {FS:g} Hz (records500), got {fs:g} Hz")
    return leads


@dataclass
class FoldOutput:
    """Aligned real and reconstructed records (records, samples, 12) mV at 500 Hz."""

    real: np.ndarray
    source_fs: np.ndarray  # (records,) the rate each input was recorded at
    rec: np.ndarray
    spread: np.ndarray  # (records, 12) window disagreement per lead, mV
    ecg_ids: list[int]
    refused: list[dict]  # {"ecg_id", "error"}: inputs the API rejected, as a user would see
    warned: int  # records whose reconstruction carried input-quality warnings


def _at_500(leads: np.ndarray, fs: float) -> np.ndarray:
    """Real leads brought to the scoring rate (limb leads re-derived, so they stay exact)."""
    return leads if fs == FS else to_rate(leads.astype(np.float32), fs, FS)


def reconstruct_fold(
    model: ecg12.Model,
    records: list[Record],
    chunk: int = CHUNK,
    leads: tuple[str, ...] | None = None,
) -> FoldOutput:
    """Reconstruct every record from its real Lead I (an any-lead model: from its real
    ``leads``, the 12-lead array given with ``leads=``), at the rate it was recorded, and pair
    the 500 Hz output with the real 12 leads."""
    real, rec, spread, ids, rates, refused, warned = [], [], [], [], [], [], 0
    for start in range(0, len(records), chunk):
        part = records[start : start + chunk]
        for fs in dict.fromkeys(map(record_rate, part)):  # one pooled call per rate
            same = [r for r in part if record_rate(r) == fs]
            truths = [record_leads(r) for r in same]
            inputs = [x[:, 0] for x in truths] if leads is None else truths
            outs = model.reconstruct_many(inputs, fs=fs, leads=leads, errors="return")
            for record, truth, out in zip(same, truths, outs, strict=True):
                if isinstance(out, InputError):
                    refused.append({"ecg_id": record.ecg_id, "error": str(out)})
                    continue
                truth = _at_500(truth, fs)
                if out.fs != FS or out.p_signal.shape != truth.shape:
                    raise RuntimeError(
                        f"ecg_id {record.ecg_id}: reconstruction {out.p_signal.shape} at "
                        f"{out.fs:g} Hz != record {truth.shape} at {FS:g} Hz"
                    )
                real.append(truth.astype(np.float32))
                rec.append(out.p_signal)
                spread.append(out.window_spread_mv)
                ids.append(record.ecg_id)
                rates.append(fs)
                warned += bool(out.warnings)
    if not real:
        raise RuntimeError("the API refused every record")
    return FoldOutput(
        np.stack(real), np.asarray(rates), np.stack(rec), np.stack(spread), ids, refused, warned
    )


# --- models from one or more registries ---------------------------------------------------------


def add_registry_option(p: argparse.ArgumentParser) -> None:
    """``--registry``, repeatable, as :func:`model_sources` reads it."""
    p.add_argument(
        "--registry",
        type=Path,
        action="append",
        default=[],
        help="registry.json (repeatable; a model comes from the first that names it); "
        "default: the package's",
    )


def model_sources(
    registries: list[Path], models: list[str], every: bool
) -> list[tuple[str, Path | None]]:
    """(model, registry path) pairs: each model from the first listed registry that names it."""
    loaded: list[tuple[Path | None, Registry]] = [(p, ecg12.load_registry(p)) for p in registries]
    if not loaded:
        loaded = [(None, ecg12.load_registry())]
    if every:
        models = list(dict.fromkeys(name for _, reg in loaded for name in reg.cards))
    pairs = []
    for name in models:
        path = next((p for p, reg in loaded if name in reg.cards), False)
        if path is False:
            raise ValueError(f"model '{name}' is in none of the registries given")
        pairs.append((name, path))
    return pairs


# --- provenance and output ----------------------------------------------------------------------


def command(module: str, argv: Sequence[str]) -> str:
    """The command line a page was made with, as a reader would type it again."""
    return f"python -m {module} {shlex.join(argv)}"


def machine() -> str:
    """The CPU a page's timings were taken on, e.g. "Intel(R) Xeon(R) Processor, 2 cores"."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    except OSError:
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores"


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table's lines."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def write_json(path: Path, body: object, indent: int = 1) -> None:
    """Write ``body`` as JSON whole or not at all: an interrupted study never leaves half a
    results file where the last good one was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(body, indent=indent) + "\n")
