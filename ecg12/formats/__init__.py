"""File formats, each parsed into :class:`Parsed`: channels with their own rate and unit.

A parser only reports what the file says; :mod:`ecg12.readers` chooses the channel, settles
the rate, converts to mV and checks the values, the same way for every format and for arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Channel", "Parsed", "default_names", "table_channels"]


@dataclass(frozen=True, eq=False)  # compared by identity: its values are an array
class Channel:
    """One signal as stored: 1-D values, its own rate and unit (None where the file is silent)."""

    values: np.ndarray
    fs: float | None
    name: str
    unit: str | None


@dataclass(frozen=True)
class Parsed:
    """What a format parser found, before a channel is chosen and values are checked."""

    channels: list[Channel]
    comments: list[str]
    format: str


def default_names(n: int) -> list[str]:
    """Names for unnamed channels: one is Lead I, twelve are the standard order."""
    from ecg12.leads import LEAD_NAMES

    if n == 1:
        return ["I"]
    if n == len(LEAD_NAMES):
        return list(LEAD_NAMES)
    return [f"ch{j + 1}" for j in range(n)]


def table_channels(
    table: np.ndarray, fs: float | None, names: list[str], units: list[str | None]
) -> list[Channel]:
    """The columns of a (samples, channels) table as channels sharing one rate."""
    return [
        Channel(table[:, j], fs, name, unit)
        for j, (name, unit) in enumerate(zip(names, units, strict=True))
    ]
