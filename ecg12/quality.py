"""Check one lead before reconstruction: refuse what cannot work, warn about what may not.

Errors (:class:`~ecg12.errors.InputError`): all samples missing, a signal shorter than the
model needs, a missing stretch longer than :data:`MAX_GAP_S`, a flat line. Everything else that
lowers trust in the result is returned as a warning string, never dropped: repaired gaps,
clipping, noise, and inputs unlike the training data (PTB-XL's resting 10 s ECGs): very low or
implausibly large amplitude, pacing spikes, an irregular (non-sinus) rhythm, an extreme rate.
The thresholds below were checked on the PTB-XL records in ../shared/data (Lead I, 500 Hz).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecg12.dsp import amplitude, band_ratio, median, r_peaks
from ecg12.errors import InputError

__all__ = ["QualityReport", "check_lead", "check_leads"]

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
#: Above this p1-p99 range (mV) the units or gain are probably wrong: no PTB-XL Lead I exceeds
#: 2.6 mV.
LARGE_AMPLITUDE_MV = 4.0
#: Pacing spike: a deflection this far (mV) from the mean of its two neighbours, a sharpness no
#: QRS has; a paced record shows at least PACING_MIN_SPIKES of them, at least one per
#: 1 / PACING_SPIKES_PER_S seconds. Seen in 75 % of PTB-XL's 32 paced records, none of 300 sinus
#: rhythm records. Needs PACING_MIN_FS: lower rates smear the spike.
PACING_SPIKE_MV = 0.3
PACING_MIN_SPIKES = 5
PACING_SPIKES_PER_S = 0.3
PACING_MIN_FS = 400.0
#: RR intervals varying more than this (coefficient of variation) suggest a non-sinus rhythm:
#: 76 % of PTB-XL's atrial fibrillation records, 4 % of its sinus rhythm records.
IRREGULAR_RR_CV = 0.15
#: Heart rates outside this range (bpm) are rare in the training data.
RATE_RANGE_BPM = (40.0, 150.0)


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

    amp = float(amplitude(x))
    if amp < FLAT_MV:
        raise InputError(f"flat signal (p1-p99 range {amp:.4f} mV): electrode off?", source)
    if amp < LOW_AMPLITUDE_MV:
        warnings.append(
            f"{source}: very low amplitude ({amp:.3f} mV p1-p99, "
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
    warnings += _unlike_training_data(x, fs, amp, source)
    return QualityReport(
        signal=x,
        warnings=warnings,
        nan_fraction=float(missing.mean()),
        clipped_fraction=clipped,
        amplitude_mv=amp,
        noise_ratio=noise,
    )


def check_leads(
    x: np.ndarray,
    fs: float,
    wheres: list[str],
    min_samples: int,
    required: tuple[bool, ...] | list[bool],
) -> tuple[np.ndarray, list[int], list[str]]:
    """:func:`check_lead` on each column of ``x`` (samples, leads), named ``wheres`` in messages.

    A lead that cannot be used is left out with a warning, unless ``required`` (the user named
    it), which makes it an error; so is having none left (the first lead's error). Returns the
    usable leads repaired, their column indices and the warnings.
    """
    kept, signals, warnings = [], [], []
    first: InputError | None = None
    for j, where in enumerate(wheres):
        try:
            report = check_lead(x[:, j], fs, where, min_samples)
        except InputError as exc:
            if required[j]:
                raise
            first = first or exc
            warnings.append(f"{exc}; left out")
            continue
        kept.append(j)
        signals.append(report.signal)
        warnings += report.warnings
    if not kept:
        assert first is not None
        raise first
    return np.stack(signals, axis=1), kept, warnings


def pacing_spikes(x: np.ndarray, fs: float) -> int:
    """Number of separate pacing-spike-like deflections (see PACING_SPIKE_MV)."""
    sharp = np.abs(x[1:-1] - (x[:-2] + x[2:]) / 2)
    idx = np.flatnonzero(sharp > PACING_SPIKE_MV)
    return 0 if idx.size == 0 else 1 + int((np.diff(idx) > 0.01 * fs).sum())


def _unlike_training_data(x: np.ndarray, fs: float, amplitude: float, source: str) -> list[str]:
    """Warnings for inputs unlike PTB-XL's resting ECGs, each naming its reason."""
    warnings = []
    if amplitude > LARGE_AMPLITUDE_MV:
        warnings.append(
            f"{source}: unusually large amplitude ({amplitude:.1f} mV p1-p99, above "
            f"{LARGE_AMPLITUDE_MV:g} mV); the scale looks wrong: check the units and gain"
        )
    seconds = x.size / fs
    if fs >= PACING_MIN_FS:
        n = pacing_spikes(x, fs)
        if n >= max(PACING_MIN_SPIKES, PACING_SPIKES_PER_S * seconds):
            warnings.append(
                f"{source}: {n} pacing-spike-like deflections; a paced ECG is unlike the "
                "training data and its reconstruction is unreliable"
            )
    peaks = r_peaks(x, fs)
    if peaks.size >= 4:
        rr = np.diff(peaks) / fs
        rate = 60.0 / median(rr)
        cv = float(rr.std() / rr.mean())
        if cv > IRREGULAR_RR_CV:
            warnings.append(
                f"{source}: irregular rhythm (RR intervals vary by {cv:.0%}); not sinus rhythm? "
                "(e.g. atrial fibrillation, frequent ectopics): reconstruction is less reliable"
            )
        low, high = RATE_RANGE_BPM
        if not low <= rate <= high:
            warnings.append(
                f"{source}: heart rate {rate:.0f} bpm is outside {low:g}-{high:g} bpm, rare in "
                "the training data (or the sampling rate is wrong)"
            )
    return warnings


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
