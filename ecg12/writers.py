"""Write a multi-lead record as WFDB, CSV or NPZ: all files or none, never over existing ones.

Files are written into a temporary folder next to the targets and then renamed into place, so
an interrupted run leaves no half-written record behind.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__ = ["FORMATS", "atomic_file", "write_record", "write_text"]

#: Output format -> file suffixes it writes (the data file before the WFDB header that names it).
FORMATS: dict[str, tuple[str, ...]] = {"wfdb": (".dat", ".hea"), "csv": (".csv",), "npz": (".npz",)}
#: WFDB format 16 at this gain stores 1 µV steps; +-32767 units is +-32.767 mV
#: (-32768 is reserved for missing samples).
WFDB_GAIN_PER_MV = 1000
_WFDB_MAX = 32767
_NPZ_KEYS = {"p_signal", "fs", "sig_name", "units", "comments"}


def write_record(
    p_signal: np.ndarray,
    fs: float,
    sig_name: list[str],
    units: list[str],
    comments: list[str],
    path: Path,
    fmt: str = "wfdb",
    overwrite: bool = False,
    extra: dict[str, np.ndarray] | None = None,
) -> list[Path]:
    """Write ``p_signal`` (samples x channels, mV) to ``path`` + the format's suffixes.

    ``path`` is the output stem (``out/rec_12lead``); a suffix of the chosen format is dropped.
    ``extra`` arrays go into NPZ output only. Raises FileExistsError before writing anything if a
    target exists and ``overwrite`` is false. Returns the written paths.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
    stored = np.asarray(p_signal)  # NPZ keeps the caller's float type (float32 results)
    if not np.issubdtype(stored.dtype, np.floating):
        stored = stored.astype(np.float64)
    p_signal = stored.astype(np.float64)
    if p_signal.ndim != 2 or p_signal.shape[1] != len(sig_name) or len(units) != len(sig_name):
        raise ValueError(
            f"p_signal {p_signal.shape} does not match {len(sig_name)} names and {len(units)} units"
        )
    path = Path(path)
    if path.suffix.lower() in FORMATS[fmt]:
        path = path.with_suffix("")
    if fmt == "wfdb":
        _check_wfdb(p_signal, path.name)
    if extra and fmt != "npz":
        raise ValueError("extra arrays can only be written to npz")
    if extra and _NPZ_KEYS & extra.keys():
        raise ValueError(f"extra arrays may not be named {', '.join(sorted(_NPZ_KEYS))}")

    targets = [path.with_name(path.name + suffix) for suffix in FORMATS[fmt]]
    if not overwrite:
        for target in targets:
            if target.exists():
                raise FileExistsError(f"{target} exists; pass overwrite to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        stem = tmp / path.name
        if fmt == "wfdb":
            _write_wfdb(p_signal, fs, sig_name, units, comments, stem)
        elif fmt == "csv":
            _write_csv(p_signal, fs, sig_name, comments, stem)
        else:
            arrays: dict[str, Any] = {
                "p_signal": stored,
                "fs": np.float64(fs),
                "sig_name": np.array(sig_name, dtype=str),
                "units": np.array(units, dtype=str),
                "comments": np.array(comments, dtype=str),
                **(extra or {}),
            }
            np.savez_compressed(stem.with_name(stem.name + ".npz"), **arrays)
        for target in targets:
            os.replace(tmp / target.name, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return targets


def _check_wfdb(p_signal: np.ndarray, name: str) -> None:
    """Refuse what format 16 at WFDB_GAIN_PER_MV cannot hold, and names wfdb rejects."""
    if not re.fullmatch(r"[-\w]+", name):
        raise ValueError(f"WFDB record name {name!r} may hold only letters, digits, '-' and '_'")
    finite = p_signal[np.isfinite(p_signal)]
    peak = float(np.max(np.abs(finite))) if finite.size else 0.0
    if round(peak * WFDB_GAIN_PER_MV) > _WFDB_MAX:
        raise ValueError(
            f"values up to {peak:.3f} mV do not fit WFDB format 16 at {WFDB_GAIN_PER_MV} "
            f"units per mV (+-{_WFDB_MAX / WFDB_GAIN_PER_MV} mV)"
        )


def _write_wfdb(
    p_signal: np.ndarray,
    fs: float,
    sig_name: list[str],
    units: list[str],
    comments: list[str],
    stem: Path,
) -> None:
    import wfdb  # imports pandas; keep `import ecg12` cheap

    n = p_signal.shape[1]
    wfdb.wrsamp(
        stem.name,
        fs=fs,
        units=list(units),
        sig_name=list(sig_name),
        p_signal=p_signal,
        fmt=["16"] * n,
        adc_gain=[WFDB_GAIN_PER_MV] * n,
        baseline=[0] * n,
        comments=list(comments),
        write_dir=str(stem.parent),
    )


def _write_csv(
    p_signal: np.ndarray, fs: float, sig_name: list[str], comments: list[str], stem: Path
) -> None:
    """``# comment`` lines (numpy skips them; pandas with ``comment="#"``), then ``time_s`` and
    one column per lead in mV; 4 decimals keep 0.1 µV."""
    time_s = np.arange(p_signal.shape[0]) / fs
    notes = "".join(f"# {' '.join(c.split())}\n" for c in comments)
    np.savetxt(
        stem.with_name(stem.name + ".csv"),
        np.column_stack([time_s, p_signal]),
        delimiter=",",
        fmt=["%.6f"] + ["%.4f"] * p_signal.shape[1],
        header=notes + ",".join(["time_s", *sig_name]),
        comments="",
        encoding="utf-8",
    )


@contextmanager
def atomic_file(path: str | Path) -> Iterator[IO[bytes]]:
    """A binary file that appears at ``path`` only once written in full.

    It is written as a temporary file in the same folder and renamed into place; on any error
    the temporary file is removed and whatever ``path`` held before stays as it was.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; match every other output
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _umask() -> int:
    """The process umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text(path: Path, text: str) -> Path:
    """Write a small text file (UTF-8) atomically."""
    with atomic_file(path) as f:
        f.write(text.encode("utf-8"))
    return path
