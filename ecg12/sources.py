"""One input lead, open for reading whole or in spans: what the pipeline and the stream share.

A day-long WFDB record or ``.npy`` array is read span by span, so its size never has to fit in
memory; every other format is read once and held (a day of one lead is ~350 MB as float64).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecg12.errors import InputError

#: Recordings up to this many samples are read whole even where spans are possible: one read
#: is cheaper than two, and 2^18 samples are ~9 minutes at 500 Hz, ~2 MB.
WHOLE_SAMPLES = 2**18


@dataclass(frozen=True)
class ReadOptions:
    """How to read inputs: what the files cannot say themselves (see :func:`ecg12.reconstruct`)."""

    fs: float | None = None
    lead: str | None = None
    accept_other_lead: bool = False
    units: str | None = None
    gain: float | None = None


DEFAULT_READ = ReadOptions()


@dataclass(frozen=True)
class LeadSource:
    """The chosen channel of one input: its rate, length and name, and a way to read spans."""

    fs: float
    n: int
    lead: str
    source: str
    format: str
    notes: list[str] = field(default_factory=list)  # what the lead choice needs said
    other_lead: bool = False  # a named lead other than Lead I, accepted on request
    _read: Callable[[int, int], np.ndarray] = field(repr=False, default=None)  # type: ignore[assignment]

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples [start, stop) in mV (float64; missing samples are NaN)."""
        return self._read(max(start, 0), min(stop, self.n))


def open_lead(source: str | Path | np.ndarray, options: ReadOptions = DEFAULT_READ) -> LeadSource:
    """Open a file or take an array and pick its lead, with every check a whole read gets.

    A channel without a lead name is taken as Lead I, and a named lead other than Lead I is
    refused unless accepted; both are said in ``notes``.
    """
    from ecg12.readers import from_array, lead_role, read_recording, select_lead, sliceable_length

    o = options
    if isinstance(source, np.ndarray):
        rec = from_array(source, o.fs, lead=o.lead, units=o.units, gain=o.gain)
        total = None
    elif isinstance(source, (str, Path)):
        total = sliceable_length(source)
        first = None if total is None or total <= WHOLE_SAMPLES else (0, WHOLE_SAMPLES)
        rec = read_recording(source, fs=o.fs, lead=o.lead, units=o.units, gain=o.gain, span=first)
    else:
        raise InputError(f"expected a file name or a numpy array, got {type(source).__name__}")
    x, name = select_lead(rec, o.lead, accept_other_lead=o.accept_other_lead)
    if total is not None and total > len(x):
        path = source

        def read(start: int, stop: int) -> np.ndarray:
            span = read_recording(
                path, fs=o.fs, lead=o.lead, units=o.units, gain=o.gain, span=(start, stop)
            )
            return select_lead(span, o.lead, accept_other_lead=o.accept_other_lead)[0]

        n = total
    else:
        read, n = (lambda start, stop: x[start:stop]), len(x)
    role = lead_role(name)
    notes = []
    if role == "other":
        notes.append(
            f"{rec.source}: reconstructed from channel {name}, not Lead I; the model was trained "
            "on Lead I, so these 12 leads are not what a Lead I recording would give"
        )
    elif role == "unnamed":
        notes.append(f"{rec.source}: channel {name} carries no lead name; taken as Lead I")
    return LeadSource(rec.fs, n, name, rec.source, rec.format, notes, role == "other", read)
