"""Signal conditioning shared by inference and training, so the two can never drift apart.

Every number comes from a model card's ``preprocessing`` block (:class:`PreprocessSpec`);
nothing here is specific to one model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ecg12.dsp import bandpass, notch, resample


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
    """Invert :func:`preprocess`'s scaling: model units back to mV (always a new array)."""
    return (np.asarray(y, dtype=np.float32) * np.float32(spec.scale_mv)).astype(
        np.float32, copy=False
    )
