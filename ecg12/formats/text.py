"""Delimited text: what devices, apps and scripts write, read as numpy, pandas or NeuroKit2 would.

Skipped or used rather than refused: ``#``/``%`` comment lines and ``key: value``,
``key=value``, ``key:= value`` or ``key,value`` header lines (Apple Health, BioSPPy, Polar
exports), where a sampling rate may be written; a header row whose names may carry a unit
(``ecg [uV]``, ``time (ms)``); text columns such as phone timestamps; decimal commas in files
delimited by semicolons, tabs or spaces. A time column, wherever it stands, gives the rate.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np

from ecg12.errors import InputError
from ecg12.formats import Parsed, default_names, table_channels

__all__ = ["read_text"]

# Seconds per unit of a time column, by the unit in its name (``time [ms]``) or its name.
_TIME_UNITS = {"s": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_TIME_NAMES = {"t", "time", "timestamp", "times", "seconds", "elapsed", "elapsedtime"}
_TIME_NAMES_WITH_UNIT = {
    "time_s": 1.0,
    "time(s)": 1.0,
    "time_ms": 1e-3,
    "time(ms)": 1e-3,
    "milliseconds": 1e-3,
}
# Columns that count samples carry no rate.
_COUNTER_NAMES = {"sample", "samples", "index", "idx", "n", "samplenumber", "sample#", "#"}
# Header keys that identify a person; they are never copied into comments.
_PRIVATE = {"name", "date of birth", "patient", "patient name", "birth date", "dob"}
_COMMENT = re.compile(r"^\s*(#|%|//)")
# ``key: value``, ``key:= value``, ``key=value``, ``key,value``, ``"key": value`` (JSON).
_KEY_VALUE = re.compile(r'^\s*"?([^":=,;\t{}]+?)"?\s*(?::=|[:=,;\t])\s*(.*?)\s*,?$')
_RATE_KEY = re.compile(r"(?i)\b(sampl\w*[\s_-]*(rate|freq\w*)|fs)\b")
_RATE_IN_JSON = re.compile(r'(?i)"(sampl\w*[\s_-]*(?:rate|freq\w*)|fs)"\s*:\s*"?([^",}\]]+)')
_UNIT_IN_NAME = re.compile(r"^(.*?)\s*[\[(]\s*([^\])]+?)\s*[\])]\s*$")
_DECIMAL_COMMA = re.compile(r"^[-+]?\d*,\d+(?:[eE][-+]?\d+)?$")


def read_text(path: Path) -> Parsed:
    """Channels of a delimited text file; the rate from its time column or header, if any."""
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        content = raw.decode("latin-1")
    notes: list[str] = []
    body: list[tuple[int, str]] = []
    for number, line in enumerate(content.splitlines(), start=1):
        if _COMMENT.match(line):
            notes.append(_COMMENT.sub("", line).strip())
        elif line.strip():
            body.append((number, line))
    if not body:
        raise InputError("empty file" if not notes else "no data lines, only comments")
    delimiter = _delimiter(body[-1][1])
    rows = []
    for number, line in body:
        try:
            rows.append((number, _split(line, delimiter)))
        except csv.Error:  # a field over the csv module's size limit, a NUL on Python < 3.11
            problem = f"line {number}: cannot be split into values: {_short(line)}"
            raise InputError(problem) from None
    width = len(rows[-1][1])
    start = next(
        (k for k, (_, row) in enumerate(rows) if len(row) == width and any(map(_is_number, row))),
        None,
    )
    if start is None:
        raise InputError(
            f"no line of numbers found (last line {body[-1][0]}: {_short(body[-1][1])})"
        )
    header = _header(body[start - 1][1], width, delimiter) if start else None
    head = _key_values([line for _, line in body[: start - (header is not None)]])
    parsed = _table(rows[start:], header, {**_key_values(notes), **head}, notes)
    comments = [n for n in notes if n and not _key_values([n]).keys() & _PRIVATE]
    comments += [f"{k.title()}: {v}" for k, v in head.items() if k not in _PRIVATE and v]
    return Parsed(parsed.channels, comments + parsed.comments, parsed.format)


def _table(
    rows: list[tuple[int, list[str]]],
    header: list[str] | None,
    pairs: dict[str, str],
    notes: list[str],
) -> Parsed:
    """Numeric columns as channels; text columns dropped, a time column turned into a rate."""
    width = len(rows[0][1])
    names = header or [""] * width
    first = rows[0][1]
    last = rows[-1][1]
    numeric = [j for j in range(width) if _is_number(first[j]) or _is_number(last[j])]
    dropped = [names[j] or f"column {j + 1}" for j in range(width) if j not in numeric]
    table = _numbers(rows, width, numeric)
    bases, units = zip(*(_name_and_unit(names[j]) for j in numeric), strict=True)
    clocks = _time_columns(list(bases), list(units), table, header is not None)
    fs_header = _header_rate(pairs, notes)
    fs = fs_header
    keep = [j for j in range(len(numeric)) if j not in clocks]
    timed = [(j, scale) for j, scale in clocks.items() if scale is not None]
    if timed:
        fs = _rate_from_time(table[:, timed[0][0]] * timed[0][1])
        if fs_header is not None and abs(fs - fs_header) > 0.01 * fs:
            raise InputError(
                f"the header says {fs_header:g} Hz but the time column gives {fs:g} Hz"
            )
    if not keep:
        raise InputError(f"no signal columns (ignored: {', '.join(dropped)})")
    apple = "sample rate" in pairs and ("recorded date" in pairs or "classification" in pairs)
    file_unit = pairs.get("unit") or pairs.get("units") or ("µV" if apple else None)
    if header:
        channel_names = [bases[j] or f"ch{j + 1}" for j in keep]
    elif len(keep) == 1 and "lead" in pairs:
        channel_names = [pairs["lead"]]
    else:
        channel_names = default_names(len(keep))
    comments = [f"ignored columns: {', '.join(dropped)}"] if dropped and not apple else []
    return Parsed(
        channels=table_channels(
            table[:, keep], fs, channel_names, [units[j] or file_unit for j in keep]
        ),
        comments=comments,
        format="apple-health-csv" if apple else "csv",
    )


def _header(line: str, width: int, delimiter: str | None) -> list[str] | None:
    """The names in the line before the numbers, if it names their columns.

    A single column's name may hold spaces (``Lead I``) but is no ``key: value`` pair
    (``Unit,µV`` above Apple's numbers).
    """
    if width == 1:
        return None if _KEY_VALUE.match(line) else [line.strip().strip('"')]
    fields = _split(line, delimiter)
    return fields if len(fields) == width else None


def _short(text: str) -> str:
    """A line quoted for a message, cut to a readable length."""
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _delimiter(line: str) -> str | None:
    """Tab, semicolon or comma, whichever a data line holds; None splits on whitespace."""
    return next((d for d in ("\t", ";", ",") if d in line), None)


def _split(line: str, delimiter: str | None) -> list[str]:
    """Fields of one line; decimal commas become points where commas do not delimit."""
    if delimiter is None:
        fields = line.split()
    else:
        fields = [f.strip() for f in next(csv.reader(io.StringIO(line), delimiter=delimiter))]
    if delimiter != ",":
        fields = [f.replace(",", ".") if _DECIMAL_COMMA.match(f) else f for f in fields]
    return fields


def _key_values(lines: list[str]) -> dict[str, str]:
    """``key: value`` pairs of header and comment lines, keys in lower case."""
    pairs = {}
    for line in lines:
        match = _KEY_VALUE.match(line)
        if match and match.group(1).strip():
            pairs.setdefault(match.group(1).strip().lower(), match.group(2).strip().strip('"'))
    return pairs


def _header_rate(pairs: dict[str, str], meta: list[str]) -> float | None:
    """A sampling rate written in the header (``Sampling Rate (Hz): 500``, ``fs=250``, JSON)."""
    found = [v for k, v in pairs.items() if _RATE_KEY.search(k)]
    found += [m.group(2) for line in meta for m in _RATE_IN_JSON.finditer(line)]
    if not found:
        return None
    text = re.sub(r"(?i)\s*(hz|hertz|sps)\s*$", "", found[0].replace(",", "."))
    try:
        return float(text)
    except ValueError:
        raise InputError(f"sampling rate {found[0]!r} in the header is not a number") from None


def _name_and_unit(name: str) -> tuple[str, str | None]:
    """``ecg [uV]`` -> (``ecg``, ``uV``); a name without brackets has no unit."""
    match = _UNIT_IN_NAME.match(name)
    return (match.group(1), match.group(2)) if match else (name, None)


def _time_columns(
    bases: list[str], units: list[str | None], table: np.ndarray, has_header: bool
) -> dict[int, float | None]:
    """Time and counter columns, each with its seconds per unit (None for a counter).

    With a header only columns named as time (``time``, ``t``, ``timestamp [ns]``, ``ms``) or
    counters (``sample``, ``index``) count. Without one, a strictly increasing first column
    beside others is time in seconds when its steps are below 1, else a counter.
    """
    found = {}
    for j, (base, unit) in enumerate(zip(bases, units, strict=True)):
        if (scale := _clock(base, unit)) != "signal":
            found[j] = scale
    if found or has_header or table.shape[0] < 2 or table.shape[1] < 2:
        return found
    if not np.all(np.diff(table[:, 0]) > 0):
        return {}
    return {0: 1.0 if table[1, 0] - table[0, 0] < 1.0 else None}


def _clock(base: str, unit: str | None) -> float | None | str:
    """Seconds per unit of a time column, None for a counter, ``"signal"`` for anything else."""
    spaced = base.lower().replace(" ", "")
    key = spaced.replace("_", "")
    if spaced in _TIME_NAMES_WITH_UNIT:
        return _TIME_NAMES_WITH_UNIT[spaced]
    if key in _TIME_UNITS and unit is None:
        return _TIME_UNITS[key]
    if (unit or "").lower() in _TIME_UNITS and (key in _TIME_NAMES or "time" in key):
        return _TIME_UNITS[(unit or "").lower()]
    if key in _TIME_NAMES:
        return 1.0
    return None if key in _COUNTER_NAMES else "signal"


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _numbers(rows: list[tuple[int, list[str]]], width: int, columns: list[int]) -> np.ndarray:
    """Parse the numeric columns (empty field = NaN), naming the line of the first bad one."""
    out = np.empty((len(rows), len(columns)))
    for k, (line, row) in enumerate(rows):
        if len(row) != width:
            raise InputError(f"line {line}: expected {width} values, found {len(row)}")
        try:
            out[k] = [float(row[j]) if row[j] else np.nan for j in columns]
        except ValueError:
            raise InputError(f"line {line}: not a number in {_short(','.join(row))}") from None
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
