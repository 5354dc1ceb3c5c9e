"""Check one lead before reconstruction: refuse what cannot work, warn about what may not.

Errors (:class:`~ecg12.errors.InputError`): all samples missing, a signal shorter than the
model needs, a missing stretch longer than :data:`MAX_GAP_S`, a flat line. Everything else that
lowers trust in the result is returned as a warning string, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

from ecg12.errors import InputError

__all__ = ["QualityReport", "check_lead"]

#: Longest run of missing samples that linear interpolation may bridge (shorter than a beat).
MAX_GAP_S = 0.5
#: Below this p1-p99 range (mV) the lead is a flat line: electrode off or no signal.
FLAT_MV = 0.01
#: Below this p1-p99 range (mV) the lead is unusually small (a QRS is usually 0.5-2 mV).
LOW_AMPLITUDE_MV = 0.2
#: Noise is the share of power (above 0.5 Hz) lying above this frequency: muscle and mains.
NOISE_CUTOFF_HZ = 40.0
#: Warn above this noise ratio; about 1 % of PTB-XL Lead I records (500 Hz) exceed it.
NOISE_RATIO_WARN = 0.15
#: Clipping: the maximum (or minimum) value held for at least CLIP_RUN_S (and >= 3 samples),
#: in at least CLIP_MIN_RUNS separate places. One flat run is not enough: PTB-XL records often
#: hold their first or last 0.1 s constant.
CLIP_RUN_S = 0.01
CLIP_MIN_RUNS = 2


@dataclass(frozen=True)
class QualityReport:
    """The repaired lead and what was found on the way."""

    signal: np.ndarray  # 1-D mV, short gaps interpolated
    warnings: list[str]
    nan_fraction: float
    clipped_fraction: float
    amplitude_mv: float  # p99 - p1
    noise_ratio: float  # power above NOISE_CUTOFF_HZ / power above 0.5 Hz


def check_lead(x: np.ndarray, fs: float, source: str, min_samples: int) -> QualityReport:
    """Validate and repair a 1-D lead in mV; raise InputError if it cannot be used."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected a 1-D lead, got shape {x.shape}")
    missing = ~np.isfinite(x)
    if missing.all():
        raise InputError("no valid samples (all NaN)", source)
    if x.size < min_samples:
        raise InputError(
            f"too short: {x.size / fs:.2f} s, need at least {min_samples / fs:.2f} s", source
        )
    warnings = []
    if missing.any():
        x = _repair_gaps(x, missing, fs, source)
        n_gaps = _runs(missing)[0].size
        warnings.append(
            f"{source}: repaired {int(missing.sum())} missing samples in {n_gaps} gap(s) "
            "by linear interpolation"
        )

    p1, p99 = np.percentile(x, [1, 99])
    amplitude = float(p99 - p1)
    if amplitude < FLAT_MV:
        raise InputError(f"flat signal (p1-p99 range {amplitude:.4f} mV): electrode off?", source)
    if amplitude < LOW_AMPLITUDE_MV:
        warnings.append(
            f"{source}: very low amplitude ({amplitude:.3f} mV p1-p99, "
            f"below {LOW_AMPLITUDE_MV} mV); check the units and electrode contact"
        )
    clipped = _clipped_fraction(x, fs)
    if clipped > 0:
        warnings.append(
            f"{source}: {clipped:.1%} of samples sit in flat runs at the extreme values; "
            "the signal looks clipped"
        )
    noise = _noise_ratio(x, fs)
    if noise > NOISE_RATIO_WARN:
        warnings.append(
            f"{source}: high-frequency noise ({noise:.0%} of power above {NOISE_CUTOFF_HZ:g} Hz, "
            f"warning above {NOISE_RATIO_WARN:.0%}); muscle or mains interference?"
        )
    return QualityReport(
        signal=x,
        warnings=warnings,
        nan_fraction=float(missing.mean()),
        clipped_fraction=clipped,
        amplitude_mv=amplitude,
        noise_ratio=noise,
    )


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start indices and lengths of the runs of True in a boolean array."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    return starts, np.flatnonzero(edges == -1) - starts


def _repair_gaps(x: np.ndarray, missing: np.ndarray, fs: float, source: str) -> np.ndarray:
    """Interpolate gaps up to MAX_GAP_S linearly (ends take the nearest valid value)."""
    starts, lengths = _runs(missing)
    longest = int(np.argmax(lengths))
    if lengths[longest] > MAX_GAP_S * fs:
        raise InputError(
            f"{lengths[longest] / fs:.2f} s of missing samples at {starts[longest] / fs:.2f} s; "
            f"gaps up to {MAX_GAP_S} s can be repaired",
            source,
        )
    idx = np.arange(x.size)
    out = x.copy()
    out[missing] = np.interp(idx[missing], idx[~missing], x[~missing])
    return out


def _clipped_fraction(x: np.ndarray, fs: float) -> float:
    """Share of samples held at the maximum or minimum in clipping runs (see CLIP_MIN_RUNS).

    An amplifier or ADC at its limit repeats one extreme value, beat after beat; a real R peak
    does not stay identical for 10 ms.
    """
    min_run = max(3, round(CLIP_RUN_S * fs))
    clipped = 0
    for extreme in (x.max(), x.min()):
        lengths = _runs(x == extreme)[1]
        long_runs = lengths[lengths >= min_run]
        if long_runs.size >= CLIP_MIN_RUNS:
            clipped += int(long_runs.sum())
    return clipped / x.size


def _noise_ratio(x: np.ndarray, fs: float) -> float:
    """Power above NOISE_CUTOFF_HZ over power above 0.5 Hz."""
    if fs / 2 <= NOISE_CUTOFF_HZ:
        return 0.0
    return band_ratio(x, fs, NOISE_CUTOFF_HZ, np.inf)


def band_ratio(x: np.ndarray, fs: float, lo: float, hi: float) -> float:
    """Share of the power above 0.5 Hz that lies in [lo, hi) Hz (Welch, 2 s segments).

    Baseline wander below 0.5 Hz is left out so that it neither hides nor fakes noise.
    """
    f, power = sps.welch(x, fs=fs, nperseg=min(x.size, int(2 * fs)))
    total = power[f >= 0.5].sum()
    return float(power[(f >= lo) & (f < hi)].sum() / total) if total > 0 else 0.0
