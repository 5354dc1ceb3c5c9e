"""EDF and EDF+ files written byte by byte by the tests, so the readers meet real files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: Digital and physical range of a data signal: one stored step is one unit of its unit.
_FULL = ("-32768", "32767", "-32768", "32767")
#: Samples per data record of the "EDF Annotations" signal (60 bytes of time-stamped lists).
_TAL_SAMPLES = 30


def write_edf(
    path: Path,
    signals: list[tuple[str, str, np.ndarray, int]],
    record_s: float = 1.0,
    *,
    annotations: bool = False,
    duration_field: str | None = None,
    header_bytes: int | None = None,
) -> Path:
    """EDF with (label, unit, integer values in that unit, samples per data record) signals;
    ``annotations`` makes it EDF+C with an "EDF Annotations" signal. ``duration_field`` and
    ``header_bytes`` write those header fields as given (hostile-input tests)."""
    n_records = len(signals[0][2]) // signals[0][3]
    labels = [s[0] for s in signals] + ["EDF Annotations"] * annotations
    units = [s[1] for s in signals] + [""] * annotations
    counts = [s[3] for s in signals] + [_TAL_SAMPLES] * annotations
    ranges = [_FULL] * len(signals) + [("-1", "1", *_FULL[2:])] * annotations
    ns = len(labels)

    def fields(values: list[str], width: int) -> bytes:
        return b"".join(v.ljust(width)[:width].encode("latin-1") for v in values)

    header = (
        fields(["0"], 8)
        + fields(["X X X X"], 80)
        + fields(["Startdate X X X X"], 80)
        + fields(["01.01.24", "00.00.00", str(header_bytes or 256 * (ns + 1))], 8)
        + fields(["EDF+C" if annotations else ""], 44)
        + fields([str(n_records), duration_field or f"{record_s:g}"], 8)
        + fields([str(ns)], 4)
        + fields(labels, 16)
        + fields([""] * ns, 80)
        + fields(units, 8)
        + b"".join(fields([r[k] for r in ranges], 8) for k in range(4))
        + fields([""] * ns, 80)
        + fields([str(c) for c in counts], 8)
        + fields([""] * ns, 32)
    )
    blocks = []
    for k in range(n_records):
        for _, _, values, n in signals:
            blocks.append(np.round(values[k * n : (k + 1) * n]).astype("<i2").tobytes())
        if annotations:
            tal = f"+{k * record_s:g}\x14\x14\x00".encode()
            blocks.append(tal.ljust(2 * _TAL_SAMPLES, b"\x00"))
    path.write_bytes(header + b"".join(blocks))
    return path
