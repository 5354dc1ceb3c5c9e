"""The common WFDB layout read directly with numpy: what most records are, at a fraction of
``wfdb``'s cost.

``wfdb`` parses a header through pandas tables (~2 ms) and ecg12 needs it two or three times a
record, more than all the signal work of a ten-second record. A *plain* record is one segment,
one signal file, every channel in format 16, 212 or 80 at the frame rate, each signal line with
all nine fields and no skew or byte offset, the file exactly as long as the header says. Such a
record is parsed here, giving values bit for bit equal to ``wfdb.rdrecord``'s (tested on real
records); anything else returns None and goes through ``wfdb``, which also reports what is
wrong with a damaged file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["PlainRecord", "plain_header"]

#: Bytes per sample (format 212 packs two 12-bit samples in three bytes) and the value that
#: marks a missing sample, per format.
_BYTES = {"16": 2.0, "212": 1.5, "80": 1.0}
_MISSING = {"16": -32768, "212": -2048, "80": -128}

_NUMBER = re.compile(r"\d+(\.\d*)?|\.\d+")
_GAIN = re.compile(
    r"(?P<gain>(\d+\.?\d*|\.\d+)(e[-+]?\d+)?)\((?P<baseline>-?\d+)\)/(?P<units>[\w^\-?%/]+)"
)
_INTEGER = re.compile(r"-?\d+")


@dataclass(frozen=True)
class PlainRecord:
    """A plain record's header: what reading its signal needs."""

    signal_file: Path
    fmt: str
    fs: float
    sig_len: int
    sig_name: list[str]
    units: list[str]
    gain: np.ndarray  # ADC units per physical unit, per channel
    baseline: np.ndarray  # ADC value of 0 physical units, per channel
    comments: list[str]

    @property
    def n_sig(self) -> int:
        return len(self.sig_name)

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Samples [start, stop) of every channel in physical units, (samples, channels) float64,
        computed as ``wfdb`` does: (digital - baseline) / gain, missing samples NaN."""
        stop = self.sig_len if stop is None else min(stop, self.sig_len)
        start = max(0, min(start, stop))
        digital = self._digital(start * self.n_sig, stop * self.n_sig)
        missing = digital == _MISSING[self.fmt]
        values = digital.astype(np.float64)
        np.subtract(values, self.baseline, values)
        np.divide(values, self.gain, values)
        values[missing] = np.nan
        return values

    def _digital(self, lo: int, hi: int) -> np.ndarray:
        """Interleaved samples [lo, hi) of the signal file as (samples, channels) integers."""
        if self.fmt == "16":
            flat = np.fromfile(self.signal_file, "<i2", count=hi - lo, offset=2 * lo)
        elif self.fmt == "80":
            flat = np.fromfile(self.signal_file, np.uint8, count=hi - lo, offset=lo)
            flat = flat.astype(np.int16) - 128
        else:
            flat = _unpack_212(self.signal_file, lo, hi)
        return flat.reshape(-1, self.n_sig)


def _unpack_212(path: Path, lo: int, hi: int) -> np.ndarray:
    """Samples [lo, hi) of a format-212 file: pairs of 12-bit two's-complement samples in
    three bytes, the first in byte 0 and byte 1's low half, the second in byte 2 and its high
    half."""
    pair = lo // 2
    count = math.ceil((hi - 2 * pair) / 2) * 3
    raw = np.fromfile(path, np.uint8, count=count, offset=3 * pair)
    raw = np.concatenate([raw, np.zeros(-len(raw) % 3, np.uint8)]).reshape(-1, 3).astype(np.int16)
    out = np.empty((len(raw), 2), np.int16)
    out[:, 0] = raw[:, 0] | ((raw[:, 1] & 0x0F) << 8)
    out[:, 1] = raw[:, 2] | ((raw[:, 1] & 0xF0) << 4)
    out = out.reshape(-1)
    out[out > 2047] -= 4096
    first = lo - 2 * pair
    return out[first : first + hi - lo]


def plain_header(record: Path, text: str) -> PlainRecord | None:
    """The header ``text`` of ``record`` if the record is plain (see the module), else None."""
    if not text.isascii():
        return None
    lines, comments = [], []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#"):
            comments.append(line.strip(" \t#"))
        elif line:
            if "#" in line:
                return None
            lines.append(line)
    if not lines:
        return None
    head = lines[0].split()
    if len(head) < 4 or "/" in head[0] or not head[1].isdigit() or not head[3].isdigit():
        return None
    if not _NUMBER.fullmatch(head[2]) or int(head[1]) != len(lines) - 1 or int(head[1]) == 0:
        return None
    fs, sig_len = float(head[2]), int(head[3])
    parsed = [_signal_line(line) for line in lines[1:]]
    channels = [c for c in parsed if c is not None]
    if sig_len == 0 or not fs > 0 or len(channels) < len(parsed):
        return None
    files, formats, gains, baselines, units, names = zip(*channels, strict=True)
    if len(set(files)) != 1 or len(set(formats)) != 1:
        return None
    name, fmt = files[0], formats[0]
    signal_file = record.parent / name
    expected = math.ceil(_BYTES[fmt] * sig_len * len(channels))
    if "/" in name or "\\" in name or not _size_is(signal_file, expected):
        return None
    return PlainRecord(
        signal_file=signal_file,
        fmt=fmt,
        fs=fs,
        sig_len=sig_len,
        sig_name=list(names),
        units=list(units),
        gain=np.array(gains),
        baseline=np.array(baselines),
        comments=comments,
    )


def _signal_line(line: str) -> tuple[str, str, float, int, str, str] | None:
    """(file, format, gain, baseline, units, description) of a plain signal line, else None."""
    fields = line.split(None, 8)  # the description (field 9) may hold spaces
    if len(fields) < 9 or fields[1] not in _BYTES or "\t" in fields[8]:
        return None
    scale = _GAIN.fullmatch(fields[2])
    if scale is None or not all(_INTEGER.fullmatch(f) for f in fields[3:8]) or fields[7] != "0":
        return None
    gain = float(scale["gain"])
    if not (math.isfinite(gain) and gain > 0):
        return None
    return fields[0], fields[1], gain, int(scale["baseline"]), scale["units"], fields[8]


def _size_is(path: Path, size: int) -> bool:
    try:
        return path.is_file() and path.stat().st_size == size
    except OSError:
        return False
