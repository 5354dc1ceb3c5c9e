"""Write a multi-lead record as WFDB, CSV or NPZ: all files or none, never over existing ones.

Files are written into a temporary folder next to the targets and published together
(:func:`ecg12.outputs.staged`), so an interrupted run leaves no half-written record behind.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ecg12.outputs import atomic_file, staged, write_text

__all__ = [
    "FORMATS",
    "WfdbWriter",
    "atomic_file",
    "open_wfdb",
    "record_files",
    "write_files",
    "write_record",
    "write_text",
]

#: The output formats: WFDB (format 16, 1 µV steps), CSV (mV, a header row) or NPZ (float arrays).
OutputFormat = Literal["wfdb", "csv", "npz"]
#: Output format -> file suffixes it writes (the data file before the WFDB header that names it).
FORMATS: dict[OutputFormat, tuple[str, ...]] = {
    "wfdb": (".dat", ".hea"),
    "csv": (".csv",),
    "npz": (".npz",),
}
#: WFDB format 16 at this gain stores 1 µV steps; +-32767 units is +-32.767 mV
#: (-32768 is reserved for missing samples).
WFDB_GAIN_PER_MV = 1000
_WFDB_MAX = 32767
_WFDB_NAN = -32768
#: Samples per block of :func:`_digital`: 12 leads of float64 in 96 kB.
_ROWS = 1024
_NPZ_KEYS = {"p_signal", "fs", "sig_name", "units", "comments"}


def record_files(path: str | Path, fmt: OutputFormat) -> list[Path]:
    """The files a record at ``path`` (a stem; a suffix of ``fmt`` is dropped) is written to."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
    path = Path(path)
    if path.suffix.lower() in FORMATS[fmt]:
        path = path.with_suffix("")
    if fmt == "wfdb" and not re.fullmatch(r"[-\w]+", path.name):
        raise ValueError(
            f"WFDB record name {path.name!r} may hold only letters, digits, '-' and '_'"
        )
    return [path.with_name(path.name + suffix) for suffix in FORMATS[fmt]]


def write_record(
    p_signal: np.ndarray,
    fs: float,
    sig_name: list[str],
    units: list[str],
    comments: list[str],
    path: str | Path,
    fmt: OutputFormat = "wfdb",
    overwrite: bool = False,
    extra: dict[str, np.ndarray] | None = None,
) -> list[Path]:
    """Write ``p_signal`` (samples x channels, mV) to :func:`record_files` of ``path``.

    ``extra`` arrays go into NPZ output only. Raises
    :class:`~ecg12.errors.OutputExistsError` before writing anything if a target exists and
    ``overwrite`` is false. Returns the written paths.
    """
    targets = record_files(path, fmt)
    if fmt == "wfdb":
        _check_names(sig_name, units)  # before a temporary folder is made
    with staged(targets[0].parent, [t.name for t in targets], overwrite) as tmp:
        write_files(p_signal, fs, sig_name, units, comments, tmp / targets[0].name, fmt, extra)
    return targets


def write_files(
    p_signal: np.ndarray,
    fs: float,
    sig_name: list[str],
    units: list[str],
    comments: list[str],
    path: Path,
    fmt: OutputFormat = "wfdb",
    extra: dict[str, np.ndarray] | None = None,
) -> None:
    """:func:`write_record` into a folder the caller stages (with other files of one output),
    the record's files named from ``path`` (a stem, or the file of a one-file format)."""
    # NPZ keeps the caller's float type (float32 results); WFDB and CSV work in float64, which
    # the WFDB writer converts to block by block (no float64 copy of the record here).
    stored = np.asarray(p_signal)
    if not np.issubdtype(stored.dtype, np.floating):
        stored = stored.astype(np.float64)
    if stored.ndim != 2 or stored.shape[1] != len(sig_name) or len(units) != len(sig_name):
        raise ValueError(
            f"p_signal {stored.shape} does not match {len(sig_name)} names and {len(units)} units"
        )
    if extra and fmt != "npz":
        raise ValueError("extra arrays can only be written to npz")
    if extra and _NPZ_KEYS & extra.keys():
        raise ValueError(f"extra arrays may not be named {', '.join(sorted(_NPZ_KEYS))}")
    target = record_files(path, fmt)[0]
    if fmt == "wfdb":
        writer = WfdbWriter(target.with_suffix(""), fs, sig_name, units)
        try:
            writer.write(stored)
        finally:
            writer._dat.close()
        writer.comments = list(comments)
        writer.close()  # the header, last
    elif fmt == "csv":
        _write_csv(stored.astype(np.float64), fs, sig_name, comments, target)
    else:
        arrays: dict[str, Any] = {
            "p_signal": stored,
            "fs": np.float64(fs),
            "sig_name": np.array(sig_name, dtype=str),
            "units": np.array(units, dtype=str),
            "comments": np.array(comments, dtype=str),
            **(extra or {}),
        }
        np.savez_compressed(target, **arrays)


class WfdbWriter:
    """A format-16 WFDB record written block by block, its header last.

    Writes what ``wfdb.wrsamp(..., fmt=["16"] * n, adc_gain=[1000] * n, baseline=[0] * n)``
    writes, byte for byte, without wfdb's ~30 ms of header checks per record and without
    holding the record in memory: a 24-hour record streams through in blocks.
    """

    def __init__(self, stem: Path, fs: float, sig_name: list[str], units: list[str]) -> None:
        _check_names(sig_name, units)
        self.stem, self.fs, self.sig_name, self.units = stem, float(fs), sig_name, units
        self.comments: list[str] = []
        self.sig_len = 0
        self._init = np.full(len(sig_name), _WFDB_NAN, dtype=np.int64)
        self._sum = np.zeros(len(sig_name), dtype=np.int64)
        #: The final paths of the record's files (set by :func:`open_wfdb`).
        self.targets: list[Path] = []
        self._dat = open(stem.with_name(stem.name + ".dat"), "wb")  # closed by close()

    def write(self, block: np.ndarray) -> None:
        """Append (samples x channels) mV; NaN is stored as WFDB's missing-sample value."""
        block = np.asarray(block)
        if block.ndim != 2 or block.shape[1] != len(self.sig_name):
            raise ValueError(f"block {block.shape} does not have {len(self.sig_name)} channels")
        digital, sums = _digital(block)
        if self.sig_len == 0 and len(digital):
            self._init = digital[0].astype(np.int64)
        self._sum += sums
        self.sig_len += len(digital)
        # A file write, not ndarray.tofile: a full disk raises OSError(ENOSPC), not numpy's
        # "n requested and m written". The array's own buffer, samples interleaved, no copy.
        self._dat.write(memoryview(np.ascontiguousarray(digital, dtype="<i2")))

    def close(self) -> None:
        """Finish the signal file and write the header (with :attr:`comments`)."""
        self._dat.close()  # closing twice is harmless
        bad = [c for c in self.comments if re.search(r"[\t\n\r\f\v]", c)]
        if bad:
            raise ValueError(f"WFDB comments may not hold tabs or line breaks: {bad[0]!r:.60}")
        name = self.stem.name
        lines = [f"{name} {len(self.sig_name)} {_wfdb_rate(self.fs)} {self.sig_len}"]
        for j, (sig, unit) in enumerate(zip(self.sig_name, self.units, strict=True)):
            lines.append(
                f"{name}.dat 16 {WFDB_GAIN_PER_MV}(0)/{unit} 16 0 {self._init[j]} "
                f"{self._sum[j] % 65536} 0 {sig}"
            )
        lines += [f"# {c}" for c in self.comments]
        text = "".join(f"{line}\n" for line in lines)
        self.stem.with_name(name + ".hea").write_text(text, encoding="utf-8")


@contextmanager
def open_wfdb(
    path: str | Path,
    fs: float,
    sig_name: list[str],
    units: list[str],
    overwrite: bool = False,
    area: Path | None = None,
) -> Iterator[WfdbWriter]:
    """A :class:`WfdbWriter` for ``path`` (a stem); its files appear only once it closes cleanly
    (staged in ``area``, a run's staging folder, if given).

    Set ``comments`` on it before the block ends; the written paths are in ``targets``.
    """
    targets = record_files(path, "wfdb")
    _check_names(sig_name, units)  # before a temporary folder is made
    with staged(targets[0].parent, [t.name for t in targets], overwrite, area) as tmp:
        writer = WfdbWriter(tmp / targets[0].stem, fs, sig_name, units)
        writer.targets = targets
        try:
            yield writer
        finally:
            writer._dat.close()
        writer.close()


def _digital(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """mV (any real type) -> int16 WFDB units as wfdb's ``adc`` rounds them (scaled in float64,
    half to even; NaN as the missing-sample value), and each channel's sum of them (int64, for
    the header's checksum); refuses overflow.

    Worked through in blocks of :data:`_ROWS` samples, so that the float64 temporary stays in
    the CPU's cache: in a batch run this took 0.2-0.3 ms per ten-second 12-lead record, against
    0.3-0.6 for whole-array passes, each of which went out to memory. Rounding is monotonic, so
    the range check needs only the extremes.
    """
    out = np.empty(block.shape, dtype=np.int16)
    sums = np.zeros(block.shape[1], dtype=np.int64)
    if block.size == 0:
        return out, sums
    lo, hi = float(np.min(block)), float(np.max(block))
    has_nan = math.isnan(lo) or math.isnan(hi)
    if has_nan and not np.isnan(block).all():
        lo, hi = float(np.nanmin(block)), float(np.nanmax(block))
    peak = 0.0 if math.isnan(lo) else float(np.rint(max(hi, -lo) * WFDB_GAIN_PER_MV))
    if peak > _WFDB_MAX:
        raise ValueError(
            f"values up to {peak / WFDB_GAIN_PER_MV:.3f} mV do not fit WFDB format 16 at "
            f"{WFDB_GAIN_PER_MV} units per mV (+-{_WFDB_MAX / WFDB_GAIN_PER_MV} mV)"
        )
    ones = np.ones(min(_ROWS, len(block)))
    for start in range(0, len(block), _ROWS):
        units = np.multiply(block[start : start + _ROWS], WFDB_GAIN_PER_MV, dtype=np.float64)
        np.rint(units, out=units)
        if has_nan:
            units[np.isnan(units)] = _WFDB_NAN
        sums += (ones[: len(units)] @ units).astype(np.int64)  # exact: whole numbers < 2^53
        out[start : start + _ROWS] = units
    return out, sums


def _wfdb_rate(fs: float) -> str:
    """The rate as wfdb writes it: whole rates without a decimal point, others as Python does."""
    return str(int(fs)) if round(fs, 8) == float(int(fs)) else str(fs)


def _check_names(sig_name: list[str], units: list[str]) -> None:
    """The signal names and units wfdb would refuse to write."""
    if len(set(sig_name)) != len(sig_name):
        raise ValueError(f"signal names must be unique: {sig_name}")
    for name in sig_name:
        if not name.strip() or name != name.strip() or re.search(r"[\x00-\x1f\x7f-\x9f]", name):
            raise ValueError(f"WFDB signal name {name!r} is empty or has spaces at its ends")
    for unit in units:
        if not unit or re.search(r"\s", unit):
            raise ValueError(f"WFDB unit {unit!r} is empty or holds spaces")


def _write_csv(
    p_signal: np.ndarray, fs: float, sig_name: list[str], comments: list[str], path: Path
) -> None:
    """``# comment`` lines (numpy skips them; pandas with ``comment="#"``), then ``time_s`` and
    one column per lead in mV; 4 decimals keep 0.1 µV."""
    time_s = np.arange(p_signal.shape[0]) / fs
    notes = "".join(f"# {' '.join(c.split())}\n" for c in comments)
    np.savetxt(
        path,
        np.column_stack([time_s, p_signal]),
        delimiter=",",
        fmt=["%.6f"] + ["%.4f"] * p_signal.shape[1],
        header=notes + ",".join(["time_s", *sig_name]),
        comments="",
        encoding="utf-8",
    )
