"""EDF/EDF+ (16-bit), read with numpy, every signal at its own rate.

``wfdb.io.convert.edf.read_edf`` folds signals of different rates down to the greatest common
divisor of the rates, and every EDF+ file carries an "EDF Annotations" signal at its own rate,
so its ECG would come back at a few Hz; hence this small reader. Annotation signals are
skipped; the others are returned as they are, so that the channel is chosen before anything
is dropped (a Holter patch stores ECG at 256 Hz beside accelerometers at 21.3 Hz).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ecg12.errors import InputError
from ecg12.formats import Channel, Parsed

__all__ = ["read_edf"]

# wfdb's EDF writer pads the last data record with WFDB's "no sample" value.
_WFDB_NO_SAMPLE = -32768
# Per-signal header fields and their widths, in the order EDF stores them.
_FIELDS = (
    ("label", 16),
    ("transducer", 80),
    ("unit", 8),
    ("pmin", 8),
    ("pmax", 8),
    ("dmin", 8),
    ("dmax", 8),
    ("filter", 80),
    ("n", 8),
    ("reserved", 32),
)


def read_edf(path: Path) -> Parsed:
    """Every non-annotation signal of an EDF/EDF+C file, in its unit, at its own rate."""
    data = path.read_bytes()
    if data[:8] != b"0       " or len(data) < 256:
        raise InputError("not an EDF file (bad version field)")

    def text(start: int, width: int) -> str:
        return data[start : start + width].decode("latin-1").strip()

    header_bytes = _number(text(184, 8), "header size", int)
    n_records = _number(text(236, 8), "number of data records", int)
    duration = _number(text(244, 8), "data record duration", float)
    n_sig = _number(text(252, 4), "number of signals", int)
    if text(192, 44).startswith("EDF+D"):
        raise InputError("discontinuous EDF+ (EDF+D) is not supported")
    if not (math.isfinite(duration) and duration >= 1e-6) or n_sig <= 0:
        raise InputError(f"invalid EDF header (record duration {duration:g} s, {n_sig} signals)")
    if header_bytes != 256 * (n_sig + 1) or len(data) < header_bytes:
        raise InputError(
            f"invalid EDF header: it declares {header_bytes} header bytes, "
            f"but {n_sig} signals need {256 * (n_sig + 1)}"
        )
    fields: dict[str, list[str]] = {}
    pos = 256
    for key, width in _FIELDS:
        fields[key] = [text(pos + i * width, width) for i in range(n_sig)]
        pos += n_sig * width
    counts = [_number(n, "samples per data record", int) for n in fields["n"]]
    if min(counts) <= 0:
        raise InputError("invalid EDF header: a signal has no samples per data record")
    per_record = sum(counts)
    body = np.frombuffer(
        data, dtype="<i2", count=(len(data) - header_bytes) // 2, offset=header_bytes
    )
    if n_records < 0:  # "unknown" while recording: use the complete records present
        n_records = body.size // per_record
    if body.size < n_records * per_record:
        raise InputError(
            f"truncated: header promises {n_records} data records, "
            f"file holds {body.size // per_record}"
        )
    blocks = body[: n_records * per_record].reshape(n_records, per_record)
    starts = np.cumsum([0, *counts])
    signals = [i for i in range(n_sig) if fields["label"][i] != "EDF Annotations"]
    if not signals:
        raise InputError("EDF file holds only annotations, no signals")
    return Parsed(
        channels=[
            _channel(fields, i, blocks[:, starts[i] : starts[i + 1]], duration) for i in signals
        ],
        comments=[],
        format="edf",
    )


def _channel(fields: dict[str, list[str]], i: int, block: np.ndarray, duration: float) -> Channel:
    """Signal ``i`` in physical units, wfdb's end padding removed."""
    digital = block.reshape(-1)
    padded = digital == _WFDB_NO_SAMPLE
    n = digital.size - int(np.argmin(padded[::-1])) if not padded.all() else 0
    label = fields["label"][i]
    pmin, pmax, dmin, dmax = (
        _number(fields[key][i], f"{label} {key}", float) for key in ("pmin", "pmax", "dmin", "dmax")
    )
    if dmax == dmin or not math.isfinite((pmax - pmin) / (dmax - dmin)):
        raise InputError(f"invalid EDF header: signal {label} has an unusable digital range")
    values = (digital[:n].astype(np.float64) - dmin) * ((pmax - pmin) / (dmax - dmin)) + pmin
    return Channel(values, block.shape[1] / duration, label, fields["unit"][i] or None)


def _number(field: str, what: str, kind: type[int] | type[float]) -> int | float:
    """A numeric header field, or a one-line error naming it."""
    try:
        return kind(field)
    except ValueError:
        raise InputError(f"invalid EDF header: {what} is {field!r}, not a number") from None
