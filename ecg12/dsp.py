"""Signal helpers shared by conditioning, input checks and trust: filters, resampling, R peaks,
spectra and amplitude, in one place so those modules need not import each other.

scipy.signal costs about half a second to import; it is imported inside the functions that use
it, so that ``ecg12 --help`` stays fast.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np


def resample(x: np.ndarray, fs_in: float, fs_out: float, axis: int = 0) -> np.ndarray:
    """Resample with a polyphase FIR filter (anti-aliased, linear phase).

    The rate ratio is approximated by a fraction with denominator <= 1000, i.e. to within
    0.1 % for awkward rates such as 511.3 Hz.
    """
    if fs_in <= 0 or fs_out <= 0:
        raise ValueError(f"sampling rates must be positive, got {fs_in} -> {fs_out}")
    from scipy import signal

    ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
    if ratio == 1:
        return np.asarray(x, dtype=np.float64).copy()
    up, down = ratio.numerator, ratio.denominator
    return signal.resample_poly(
        np.asarray(x, dtype=np.float64), up, down, axis=axis, window=_antialias(up, down)
    )


@lru_cache(maxsize=32)
def _antialias(up: int, down: int) -> np.ndarray:
    """The low-pass FIR ``resample_poly`` designs for up/down by default (Kaiser, beta 5, 10
    taps per phase each side), designed once per ratio: a design costs about what resampling
    a 10 s record does. ``resample_poly`` copies it before scaling it."""
    from scipy import signal

    rate = max(up, down)
    return signal.firwin(20 * rate + 1, 1.0 / rate, window=("kaiser", 5.0))


#: Samples of odd reflection added at each end before zero-phase filtering: long enough for the
#: 0.5 Hz high-pass to settle (the whole of a 10 s record at 250 Hz), so record edges carry no
#: start-up transient. Part of the conditioning the shipped models were trained with.
PAD_SAMPLES = 3600


def _filtfilt(sos: np.ndarray, x: np.ndarray, axis: int) -> np.ndarray:
    """``scipy.signal.sosfiltfilt(sos, x, axis, padtype="odd", padlen=...)``, bit for bit,
    with the filter's initial state computed once per design rather than once per call (a
    third of the cost of filtering a ten-second record)."""
    from scipy import signal

    x = np.moveaxis(x, axis, 0)
    edge = min(x.shape[0] - 1, PAD_SAMPLES)
    if edge > 0:  # odd reflection about each end, as scipy's odd_ext computes it
        head = 2 * x[:1] - x[edge:0:-1]
        tail = 2 * x[-1:] - x[-2 : -(edge + 2) : -1]
        x = np.concatenate((head, x, tail))
    zi = _initial_state(sos.tobytes(), sos.shape).reshape((len(sos), 2) + (1,) * (x.ndim - 1))
    y, _ = signal.sosfilt(sos, x, axis=0, zi=zi * x[:1])
    y, _ = signal.sosfilt(sos, y[::-1], axis=0, zi=zi * y[-1:])
    y = y[::-1]
    if edge > 0:
        y = y[edge:-edge]
    return np.moveaxis(y, 0, axis)


@lru_cache(maxsize=32)
def _initial_state(sos: bytes, shape: tuple[int, ...]) -> np.ndarray:
    """``scipy.signal.sosfilt_zi`` of the sections stored in ``sos`` (keyed by their bytes)."""
    from scipy import signal

    return signal.sosfilt_zi(np.frombuffer(sos).reshape(shape))


def bandpass(
    x: np.ndarray,
    fs: float,
    highpass_hz: float,
    lowpass_hz: float | None,
    order: int = 2,
    axis: int = 0,
) -> np.ndarray:
    """Zero-phase Butterworth band-pass (high-pass only when ``lowpass_hz`` is None).

    The high-pass removes baseline wander; zero phase keeps ST segments and wave timing intact.
    """
    return _filtfilt(band_sos(fs, highpass_hz, lowpass_hz, order), np.asarray(x, float), axis)


def band_sos(fs: float, highpass_hz: float, lowpass_hz: float | None, order: int) -> np.ndarray:
    """The Butterworth sections :func:`bandpass` runs forwards and backwards (a fresh copy of
    a design made once per set of arguments: designing costs ~0.5 ms, as much as filtering a
    10 s record)."""
    return _band_sos(fs, highpass_hz, lowpass_hz, order).copy()


@lru_cache(maxsize=32)
def _band_sos(fs: float, highpass_hz: float, lowpass_hz: float | None, order: int) -> np.ndarray:
    from scipy import signal

    if lowpass_hz is None:
        return signal.butter(order, highpass_hz, btype="highpass", fs=fs, output="sos")
    band = [highpass_hz, lowpass_hz]
    return signal.butter(order, band, btype="bandpass", fs=fs, output="sos")


def notch_sos(fs: float, freq_hz: float, quality: float = 30.0) -> np.ndarray | None:
    """The sections :func:`notch` runs; None where the mains frequency is above Nyquist.
    Designed once per set of arguments, as :func:`band_sos`."""
    sos = _notch_sos(fs, freq_hz, quality)
    return None if sos is None else sos.copy()


@lru_cache(maxsize=32)
def _notch_sos(fs: float, freq_hz: float, quality: float) -> np.ndarray | None:
    from scipy import signal

    if freq_hz >= fs / 2:
        return None
    return signal.tf2sos(*signal.iirnotch(freq_hz, quality, fs=fs))


def notch(
    x: np.ndarray, fs: float, freq_hz: float, quality: float = 30.0, axis: int = 0
) -> np.ndarray:
    """Remove mains interference (50 or 60 Hz) with a zero-phase IIR notch."""
    sos = notch_sos(fs, freq_hz, quality)
    x = np.asarray(x, dtype=np.float64)
    return x if sos is None else _filtfilt(sos, x, axis)


@lru_cache(maxsize=8)
def _hann(n: int) -> np.ndarray:
    """The periodic Hann window Welch's method uses."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def r_peaks(x: np.ndarray, fs: float) -> np.ndarray:
    """Sample indices of R peaks: maxima of the 5-30 Hz envelope, at least 0.3 s apart."""
    from scipy import signal as sps

    envelope = np.abs(bandpass(x, fs, 5.0, 30.0))
    peaks, _ = sps.find_peaks(
        envelope, height=0.4 * np.percentile(envelope, 99), distance=int(0.3 * fs)
    )
    return peaks


def band_ratio(x: np.ndarray, fs: float, lo: float, hi: float) -> float:
    """Share of the power above 0.5 Hz that lies in [lo, hi) Hz (Welch, 2 s segments).

    Baseline wander below 0.5 Hz is left out so that it neither hides nor fakes noise.
    """
    return band_ratios(x, fs, [(lo, hi)])[0]


def band_ratios(x: np.ndarray, fs: float, bands: list[tuple[float, float]]) -> list[float]:
    """:func:`band_ratio` of each band, from one spectrum."""
    f, power = welch_power(x, fs)
    total = power[f >= 0.5].sum()
    return [
        float(power[(f >= lo) & (f < hi)].sum() / total) if total > 0 else 0.0 for lo, hi in bands
    ]


def welch_power(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and power of ``scipy.signal.welch(x, fs, nperseg=min(len(x), 2 fs))`` up to
    a constant factor (ratios of band sums are all we take): the same Hann-windowed, mean-removed,
    half-overlapping segments, in a few numpy calls instead of scipy's general machinery, which
    costs ten times more on a ten-second record."""
    x = np.asarray(x, dtype=np.float64)
    n = min(x.size, int(2 * fs))
    segments = np.lib.stride_tricks.sliding_window_view(x, n)[:: n - n // 2]
    segments = segments - segments.mean(axis=1, keepdims=True)
    power = (np.abs(np.fft.rfft(segments * _hann(n), axis=1)) ** 2).mean(axis=0)
    power[1 : len(power) - (n % 2 == 0)] *= 2  # one-sided: all but 0 Hz and an even n's last
    return np.fft.rfftfreq(n, 1 / fs), power


def amplitude(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """p99 - p1 along the time ``axis``: the amplitude used throughout ecg12's fidelity figures."""
    p1, p99 = np.percentile(x, [1, 99], axis=axis)
    return p99 - p1


def heart_rate(lead_i: np.ndarray, fs: float) -> float:
    """Beats per minute from Lead I's R peaks.

    Fast and slow rhythms are where reconstructions go wrong most: few training records have them.
    """
    return 60.0 * max(len(r_peaks(lead_i, fs)), 1) * fs / len(lead_i)
