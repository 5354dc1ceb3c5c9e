"""Signal conditioning shared by inference and training, so the two can never drift apart.

Every number comes from a model card's ``preprocessing`` block (:class:`PreprocessSpec`);
nothing here is specific to one model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np


@dataclass(frozen=True)
class PreprocessSpec:
    """How a model expects its input: rate, window, pass band and amplitude scale.

    ``scale_mv`` is the fixed number of mV per model unit. A fixed scale (rather than per-record
    standardisation) keeps the patient's own amplitude visible to the model and makes the output
    invertible to mV from nothing but the card.
    """

    fs: float
    window: int
    stride: int
    highpass_hz: float
    lowpass_hz: float | None
    scale_mv: float = 1.0
    filter_order: int = 2

    def __post_init__(self) -> None:
        if self.fs <= 0 or self.window <= 0 or not 0 < self.stride <= self.window:
            raise ValueError(f"invalid preprocessing spec: {self}")
        if self.lowpass_hz is not None and not self.highpass_hz < self.lowpass_hz < self.fs / 2:
            raise ValueError(f"pass band must lie below Nyquist ({self.fs / 2} Hz): {self}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreprocessSpec:
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def window_seconds(self) -> float:
        return self.window / self.fs


def resample(x: np.ndarray, fs_in: float, fs_out: float, axis: int = 0) -> np.ndarray:
    """Resample with a polyphase FIR filter (anti-aliased, linear phase).

    The rate ratio is approximated by a fraction with denominator <= 1000, i.e. to within
    0.1 % for awkward rates such as 511.3 Hz.
    """
    if fs_in <= 0 or fs_out <= 0:
        raise ValueError(f"sampling rates must be positive, got {fs_in} -> {fs_out}")
    from scipy import signal  # scipy.signal costs ~0.5 s to import: only when used

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


def preprocess(
    x: np.ndarray, fs: float, spec: PreprocessSpec, notch_hz: float | None = None, axis: int = 0
) -> np.ndarray:
    """Bring a recording in mV to the model's rate, band and scale (float32, model units).

    Works on one lead (1-D) or many (``axis`` is time), so training can condition all twelve
    target leads exactly as inference conditions Lead I.
    """
    y = resample(x, fs, spec.fs, axis=axis)
    if notch_hz:
        y = notch(y, spec.fs, notch_hz, axis=axis)
    y = bandpass(y, spec.fs, spec.highpass_hz, spec.lowpass_hz, spec.filter_order, axis=axis)
    return (y / spec.scale_mv).astype(np.float32)


def to_millivolts(y: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """Invert :func:`preprocess`'s scaling: model units back to mV."""
    return (np.asarray(y, dtype=np.float32) * np.float32(spec.scale_mv)).astype(np.float32)
