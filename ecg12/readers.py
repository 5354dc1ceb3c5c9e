"""Read one ECG recording, whatever its format, into a single mV-scaled :class:`Recording`.

Supported: WFDB (``.hea``, its signal files or the bare record name; every format ``wfdb`` reads,
including CinC 2021 ``.mat`` and FLAC format 516), EDF/EDF+, CSV with or without header and
time column, the CSV the iPhone Health app exports for Apple Watch ECGs, and NumPy ``.npy``.
Every problem a user can cause becomes a one-line :class:`~ecg12.errors.InputError`.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecg12.errors import InputError
from ecg12.leads import LEAD_NAMES, lead_index

__all__ = ["MIN_FS", "Recording", "read_lead", "read_recording", "select_lead"]

#: Below this rate the QRS complex is not resolved well enough to reconstruct anything.
MIN_FS = 100.0
SUPPORTED = (
    "WFDB (.hea/.dat/.mat), EDF (.edf), CSV (.csv/.tsv/.txt), Apple Health CSV, NumPy (.npy)"
)

# Physical units we convert, keyed by lower-case name with the micro sign spelled "u".
_MV_PER_UNIT = {"mv": 1.0, "uv": 1e-3, "v": 1e3}
# No surface ECG in mV has a median |x| above 20 mV or a p1-p99 range above 50 mV; such values
# are raw ADC counts or µV labelled as mV.
_MAX_MEDIAN_ABS_MV = 20.0
_MAX_RANGE_MV = 50.0
# A CSV column with one of these names (lower case, spaces removed) is time, in these seconds.
_TIME_COLUMNS = {
    "t": 1.0,
    "time": 1.0,
    "s": 1.0,
    "sec": 1.0,
    "seconds": 1.0,
    "time_s": 1.0,
    "time(s)": 1.0,
    "ms": 1e-3,
    "time_ms": 1e-3,
    "time(ms)": 1e-3,
    "milliseconds": 1e-3,
}
# A CSV column with one of these names counts samples and carries no rate.
_COUNTER_COLUMNS = {"sample", "samples", "index", "idx", "n"}
# Words before a lead name that do not change it: "Lead II", "ECG I", "ECG_Lead_V1".
_LEAD_PREFIX = re.compile(r"^(?:(?:lead|ecg)[\s_-]*)+", re.IGNORECASE)
# Apple Health metadata that identifies the person; it is never copied into comments.
_APPLE_PRIVATE = {"name", "date of birth"}
# wfdb's EDF writer pads the last data record with WFDB's "no sample" value.
_WFDB_NO_SAMPLE = -32768


@dataclass(frozen=True)
class Recording:
    """A recording as read, with every voltage channel converted to mV (wfdb conventions)."""

    signal: np.ndarray  # (samples, channels) float64
    fs: float
    sig_name: list[str]
    units: list[str]
    source: str
    format: str  # "wfdb" | "edf" | "csv" | "apple-health-csv" | "npy"
    comments: list[str]

    @property
    def duration_s(self) -> float:
        return self.signal.shape[0] / self.fs


@dataclass(frozen=True)
class _Parsed:
    """What a format reader found, before unit conversion and rate checks."""

    signal: np.ndarray
    fs: float | None
    sig_name: list[str]
    units: list[str]
    comments: list[str]
    format: str


def read_recording(path: str | Path, fs: float | None = None) -> Recording:
    """Read any supported recording; ``fs`` supplies the rate where the file has none."""
    p = Path(path)
    suffix = p.suffix.lower()
    readers: dict[str, tuple[str, Callable[[Path], _Parsed]]] = {
        ".edf": ("EDF", _read_edf),
        ".npy": ("NumPy", _read_npy),
        ".csv": ("CSV", _read_csv),
        ".tsv": ("CSV", _read_csv),
        ".txt": ("CSV", _read_csv),
    }
    if suffix in readers:
        if not p.is_file():
            raise InputError("file not found", source=path)
        (fmt, reader), arg = readers[suffix], p
    elif (record := _wfdb_record_name(p)) is not None:
        fmt, reader, arg = "WFDB", _read_wfdb, record
    elif not p.exists():
        raise InputError("file not found", source=path)
    elif suffix in {".dat", ".mat"}:
        raise InputError("no WFDB header (.hea) found for this signal file", source=path)
    else:
        raise InputError(f"unsupported format {suffix or p.name!r}; supported: {SUPPORTED}", path)
    try:
        parsed = reader(arg)
    except InputError as exc:
        raise InputError(exc.problem, source=path) from exc
    except Exception as exc:  # parsers of untrusted files raise anything; report it in one line
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(f"cannot read {fmt} file: {reason}", source=path) from exc
    return _finalise(parsed, fs, str(path))


def select_lead(rec: Recording, lead: str | None = None) -> tuple[np.ndarray, str]:
    """Return one channel (1-D, mV) and its name: ``lead``, else Lead I, else the only channel."""
    wanted = _canonical("I" if lead is None else lead)
    matches = [j for j, name in enumerate(rec.sig_name) if _canonical(name) == wanted]
    if not matches and lead is None and len(rec.sig_name) == 1:
        matches = [0]
    if not matches:
        channels = ", ".join(rec.sig_name)
        problem = (
            f"no Lead I (channels: {channels}); pass --lead NAME"
            if lead is None
            else f"no channel {lead!r} (channels: {channels})"
        )
        raise InputError(problem, source=rec.source)
    j = matches[0]
    x = rec.signal[:, j].copy()
    _check_millivolts(x, rec.sig_name[j], rec.units[j], rec.source)
    return x, rec.sig_name[j]


def read_lead(
    path: str | Path, lead: str | None = None, fs: float | None = None
) -> tuple[np.ndarray, float, str, Recording]:
    """Read a recording and pick one lead: ``(signal in mV, fs, channel name, recording)``."""
    rec = read_recording(path, fs=fs)
    x, name = select_lead(rec, lead)
    return x, rec.fs, name, rec


def _canonical(name: str) -> str:
    """Comparable form of a channel name: ``Lead II``/``ii`` -> ``II``; ``MLI``/``LI`` -> ``I``."""
    bare = _LEAD_PREFIX.sub("", name.strip())
    if bare.lower() in {"li", "mli"}:  # MLI: modified lead I (Holter)
        return "I"
    try:
        return LEAD_NAMES[lead_index(bare)]
    except KeyError:
        return name.strip().lower()


def _check_millivolts(x: np.ndarray, name: str, unit: str, source: str) -> None:
    """Refuse a channel whose values cannot be an ECG in mV, before it reaches a model."""
    if unit != "mV":
        raise InputError(f"channel {name} is in {unit!r}, which cannot be converted to mV", source)
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return  # all-NaN is the quality check's error
    median_abs = float(np.median(np.abs(finite)))
    p1, p99 = np.percentile(finite, [1, 99])
    if median_abs > _MAX_MEDIAN_ABS_MV or p99 - p1 > _MAX_RANGE_MV:
        raise InputError(
            f"channel {name} does not look like mV (median |x| {median_abs:.4g}, "
            f"p1-p99 range {p99 - p1:.4g}): raw ADC counts or µV labelled as mV?",
            source,
        )


def _finalise(parsed: _Parsed, fs: float | None, source: str) -> Recording:
    """Convert voltages to mV and settle the sampling rate."""
    signal = np.array(parsed.signal, dtype=np.float64)
    if signal.ndim == 1:
        signal = signal[:, None]
    if signal.shape[0] == 0 or signal.shape[1] == 0:
        raise InputError("no samples", source)
    units = []
    for j, unit in enumerate(parsed.units):
        factor = _MV_PER_UNIT.get(unit.strip().lower().replace("µ", "u").replace("μ", "u"))
        if factor is not None:
            signal[:, j] *= factor
        units.append("mV" if factor is not None else unit)
    return Recording(
        signal=signal,
        fs=_resolve_fs(parsed.fs, fs, source),
        sig_name=parsed.sig_name,
        units=units,
        source=source,
        format=parsed.format,
        comments=parsed.comments,
    )


def _resolve_fs(found: float | None, given: float | None, source: str) -> float:
    """The file's own rate wins; ``given`` fills a gap and must agree (within 1 %) otherwise."""
    if given is not None and not given > 0:
        raise InputError(f"sampling rate must be positive, got {given:g}", source)
    if found is not None and given is not None and abs(found - given) > 0.01 * found:
        raise InputError(f"file says {found:g} Hz but --fs {given:g} was given", source)
    rate = found if found is not None else given
    if rate is None:
        raise InputError("sampling rate unknown; pass --fs", source)
    if rate < MIN_FS:
        raise InputError(f"sampling rate {rate:g} Hz is below the {MIN_FS:g} Hz minimum", source)
    return float(rate)


def _default_names(n: int) -> list[str]:
    """Names for unnamed channels: one is Lead I, twelve are the standard order."""
    if n == 1:
        return ["I"]
    if n == len(LEAD_NAMES):
        return list(LEAD_NAMES)
    return [f"ch{j + 1}" for j in range(n)]


# --- WFDB -----------------------------------------------------------------------------------


def _wfdb_record_name(p: Path) -> Path | None:
    """The WFDB record behind ``p`` (header, signal file or bare name), or None if there is none."""
    if p.suffix.lower() == ".hea":
        return p.with_suffix("") if p.is_file() else None
    if Path(f"{p}.hea").is_file():
        return p
    if not p.is_file():
        return None
    if p.with_suffix(".hea").is_file():
        return p.with_suffix("")
    # A signal file named after its record plus a suffix, e.g. PTB-XL's 00001_hr_1.dat.
    for header in sorted(p.parent.glob("*.hea")):
        if p.stem.startswith(header.stem) and _header_lists(header, p.name):
            return header.with_suffix("")
    return None


def _header_lists(header: Path, file_name: str) -> bool:
    lines = header.read_text(encoding="latin-1").splitlines()
    return any(line.split()[:1] == [file_name] for line in lines[1:])


def _read_wfdb(record: Path) -> _Parsed:
    import wfdb  # imports pandas; keep `import ecg12` cheap

    rec = wfdb.rdrecord(str(record))
    return _Parsed(
        signal=rec.p_signal,
        fs=float(rec.fs),
        sig_name=list(rec.sig_name),
        units=[u or "mV" for u in rec.units],  # WFDB's default unit is mV
        comments=list(rec.comments or []),
        format="wfdb",
    )


# --- EDF ------------------------------------------------------------------------------------


def _read_edf(path: Path) -> _Parsed:
    """Read EDF/EDF+ (16-bit) with numpy.

    ``wfdb.io.convert.edf.read_edf`` folds signals of different rates down to the greatest
    common divisor of the rates, and every EDF+ file carries an "EDF Annotations" signal at its
    own rate, so its ECG would come back at a few Hz; hence this small reader. Annotation
    signals are skipped; of the others, those at the most common rate are kept.
    """
    data = path.read_bytes()
    if data[:8] != b"0       ":
        raise InputError("not an EDF file (bad version field)")

    def text(start: int, width: int) -> str:
        return data[start : start + width].decode("latin-1").strip()

    header_bytes, n_records = int(text(184, 8)), int(text(236, 8))
    duration, n_sig = float(text(244, 8)), int(text(252, 4))
    if text(192, 44).startswith("EDF+D"):
        raise InputError("discontinuous EDF+ (EDF+D) is not supported")
    if duration <= 0 or n_sig <= 0:
        raise InputError(f"invalid EDF header (record duration {duration:g} s, {n_sig} signals)")
    fields: dict[str, list[str]] = {}
    pos = 256
    for key, width in (
        ("label", 16),
        ("transducer", 80),
        ("unit", 8),
        ("pmin", 8),
        ("pmax", 8),
        ("dmin", 8),
        ("dmax", 8),
        ("filter", 80),
        ("n", 8),
    ):
        fields[key] = [text(pos + i * width, width) for i in range(n_sig)]
        pos += n_sig * width
    counts = [int(n) for n in fields["n"]]
    body = np.frombuffer(
        data, dtype="<i2", count=(len(data) - header_bytes) // 2, offset=header_bytes
    )
    if n_records < 0:  # "unknown" while recording: use the complete records present
        n_records = body.size // sum(counts)
    if body.size < n_records * sum(counts):
        raise InputError(
            f"truncated: header promises {n_records} data records, "
            f"file holds {body.size // sum(counts)}"
        )
    blocks = body[: n_records * sum(counts)].reshape(n_records, sum(counts))
    starts = np.cumsum([0, *counts])

    signals = [i for i in range(n_sig) if fields["label"][i] != "EDF Annotations"]
    if not signals:
        raise InputError("EDF file holds only annotations, no signals")
    rates = {i: counts[i] / duration for i in signals}
    fs = max(Counter(rates.values()).items(), key=lambda kv: (kv[1], kv[0]))[0]
    kept = [i for i in signals if rates[i] == fs]
    dropped = [f"{fields['label'][i]} ({rates[i]:g} Hz)" for i in signals if rates[i] != fs]

    digital = np.stack([blocks[:, starts[i] : starts[i + 1]].reshape(-1) for i in kept], axis=1)
    padded = np.all(digital == _WFDB_NO_SAMPLE, axis=1)
    n = digital.shape[0] - int(np.argmin(padded[::-1])) if not padded.all() else 0
    digital = digital[:n].astype(np.float64)
    pmin, pmax, dmin, dmax = (
        np.array([float(fields[key][i]) for i in kept]) for key in ("pmin", "pmax", "dmin", "dmax")
    )
    if np.any(dmax == dmin):
        raise InputError("invalid EDF header (digital minimum equals maximum)")
    signal = (digital - dmin) * (pmax - pmin) / (dmax - dmin) + pmin
    comments = [f"ignored signals at other rates: {', '.join(dropped)}"] if dropped else []
    return _Parsed(
        signal=signal,
        fs=fs,
        sig_name=[fields["label"][i] for i in kept],
        units=[fields["unit"][i] or "mV" for i in kept],
        comments=comments,
        format="edf",
    )


# --- CSV ------------------------------------------------------------------------------------


def _read_csv(path: Path) -> _Parsed:
    """Delimited text: Apple Health export, or columns with optional header and time column."""
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        content = raw.decode("latin-1")
    first = next((line for line in content.splitlines() if line.strip()), "")
    delimiter = "\t" if "\t" in first else ";" if ";" in first else ","
    reader = csv.reader(io.StringIO(content), delimiter=delimiter)
    rows = []
    for row in reader:
        if any(field.strip() for field in row):
            rows.append((reader.line_num, [field.strip() for field in row]))
    if not rows:
        raise InputError("empty file")
    n_text = next((k for k, (_, row) in enumerate(rows) if _is_number(row[0])), len(rows))
    meta = {row[0].lower(): row[1] for _, row in rows[:n_text] if len(row) >= 2}
    if "sample rate" in meta:
        return _apple_health(meta, rows[n_text:])
    if n_text > 1:
        raise InputError(f"line {rows[1][0]}: expected numbers, found {','.join(rows[1][1])!r}")
    header = rows[0][1] if n_text == 1 else None
    table = _numbers(rows[n_text:], len(header) if header else len(rows[0][1]))
    table, names, fs = _split_time(table, header)
    return _Parsed(table, fs, names, ["mV"] * len(names), [], "csv")


def _split_time(
    table: np.ndarray, header: list[str] | None
) -> tuple[np.ndarray, list[str], float | None]:
    """Remove a time or sample-counter column; return signals, their names and the rate found.

    A column is time if its header is a time name (``time_s``, ``ms``, ...), a counter if it is
    ``sample``/``index``. Otherwise a strictly increasing first column is time in seconds when
    its steps are below 1 (a rate above 1 Hz), else a sample counter.
    """
    keys = [name.lower().replace(" ", "") for name in header] if header else []
    named = _TIME_COLUMNS.keys() | _COUNTER_COLUMNS
    col = next((j for j, key in enumerate(keys) if key in named), None)
    if col is None and table.shape[0] > 1 and table.shape[1] > 1:
        col = 0 if np.all(np.diff(table[:, 0]) > 0) else None
    if col is None:
        return table, header or _default_names(table.shape[1]), None
    signals = np.delete(table, col, axis=1)
    if signals.shape[1] == 0:
        raise InputError("no signal columns besides time")
    if header:
        names = [name for j, name in enumerate(header) if j != col]
    else:
        names = _default_names(signals.shape[1])
    key = keys[col] if header else ""
    t = table[:, col] * _TIME_COLUMNS.get(key, 1.0)
    if key in _COUNTER_COLUMNS or (key not in _TIME_COLUMNS and t[1] - t[0] >= 1.0):
        return signals, names, None
    return signals, names, _rate_from_time(t)


def _apple_health(meta: dict[str, str], rows: list[tuple[int, list[str]]]) -> _Parsed:
    """The iPhone Health app's Apple Watch ECG CSV: ``key,value`` lines, then one µV per line."""
    rate_text = meta["sample rate"].lower().replace("hertz", "").replace("hz", "").strip()
    signal = _numbers(rows, 1)
    comments = [f"{k.title()}: {v}" for k, v in meta.items() if k not in _APPLE_PRIVATE and v]
    return _Parsed(
        signal=signal,
        fs=float(rate_text),
        sig_name=[meta.get("lead", "Lead I")],
        units=[meta.get("unit", "µV")],  # Apple always exports µV
        comments=comments,
        format="apple-health-csv",
    )


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _numbers(rows: list[tuple[int, list[str]]], width: int) -> np.ndarray:
    """Parse rows of numbers (empty field = NaN), naming the line of the first bad one."""
    out = np.empty((len(rows), width))
    for k, (line, row) in enumerate(rows):
        if len(row) != width:
            raise InputError(f"line {line}: expected {width} values, found {len(row)}")
        try:
            out[k] = [float(field) if field else np.nan for field in row]
        except ValueError:
            raise InputError(f"line {line}: not a number in {','.join(row)!r}") from None
    if out.shape[0] == 0:
        raise InputError("no samples")
    return out


def _rate_from_time(t: np.ndarray) -> float:
    """Mean rate of an evenly spaced time column (s); within 0.1 % of a whole number -> that."""
    step = np.diff(t)
    if t.size < 2 or not np.all(np.isfinite(t)) or not np.all(step > 0):
        raise InputError("time column is not strictly increasing")
    mean_step = (t[-1] - t[0]) / (t.size - 1)
    if np.max(np.abs(step - mean_step)) > 0.5 * mean_step:
        raise InputError("time column is not evenly spaced")
    fs = 1.0 / mean_step
    return float(round(fs)) if abs(fs - round(fs)) < 1e-3 * fs else float(fs)


# --- NumPy ----------------------------------------------------------------------------------


def _read_npy(path: Path) -> _Parsed:
    """A 1-D array or (samples, channels); (channels, samples) with <= 16 rows is transposed."""
    arr = np.load(path, allow_pickle=False)
    if not np.issubdtype(arr.dtype, np.number) or arr.ndim not in (1, 2):
        raise InputError(f"expected a 1-D or 2-D numeric array, got {arr.dtype} {arr.shape}")
    if arr.ndim == 2 and arr.shape[0] <= 16 < arr.shape[1]:
        arr = arr.T
    n = 1 if arr.ndim == 1 else arr.shape[1]
    return _Parsed(arr, None, _default_names(n), ["mV"] * n, [], "npy")
