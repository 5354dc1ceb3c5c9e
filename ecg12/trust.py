"""How far to trust each lead: an expected error per lead, calibrated on held-out data.

The expected error is a log-linear model of a record's mean absolute error per lead, fitted on
PTB-XL fold 9 by ``training/calibrate.py`` and stored in the model card (``trust``). Its inputs
are things the runtime knows: Lead I's amplitude, noise, baseline wander and heart rate, the
amplitude the model drew for the lead (uncertain leads come out small and average-looking), and
how much overlapping model windows disagreed on the lead.
Both sides call :func:`features`, so calibration and use cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ecg12.leads import LEAD_NAMES

FEATURES = (
    "intercept",
    "log_lead_i_amplitude",
    "log_lead_amplitude",
    "lead_i_noise_ratio",
    "log_heart_rate",
    "lead_i_wander_ratio",
    "log_window_spread",
)
GRADES = ("good", "fair", "poor")
#: Rate at which features are computed, in calibration and at run time alike.
CALIBRATION_FS = 500.0


def amplitude(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """p99 - p1 along the time ``axis``: the amplitude used throughout ecg12's fidelity figures."""
    p1, p99 = np.percentile(x, [1, 99], axis=axis)
    return p99 - p1


def heart_rate(lead_i: np.ndarray, fs: float) -> float:
    """Beats per minute from Lead I's R peaks.

    Fast and slow rhythms are where reconstructions go wrong most: few training records have them.
    """
    from ecg12.quality import r_peaks

    return 60.0 * max(len(r_peaks(lead_i, fs)), 1) * fs / len(lead_i)


def features(leads_mv: np.ndarray, fs: float, spread_mv: np.ndarray) -> np.ndarray:
    """A reconstruction -> (12, len(FEATURES)) design matrix, one row per lead.

    ``leads_mv`` is the (samples, 12) output in mV, ``spread_mv`` its per-lead window
    disagreement (``Reconstruction.window_spread_mv``). Lead I of a reconstruction is the
    conditioned input, so every feature comes from the output.
    """
    from ecg12.quality import band_ratio

    amp = np.maximum(amplitude(leads_mv), 1e-3)
    rows = np.empty((12, len(FEATURES)))
    rows[:, 0] = 1.0
    rows[:, 1] = np.log(amp[0])
    rows[:, 2] = np.log(amp)
    lead_i = np.asarray(leads_mv[:, 0], dtype=np.float64)
    rows[:, 3] = band_ratio(lead_i, fs, 40.0, np.inf)  # muscle and mains noise
    rows[:, 4] = np.log(heart_rate(lead_i, fs))
    rows[:, 5] = band_ratio(lead_i, fs, 0.5, 2.0)  # baseline wander left after conditioning
    rows[:, 6] = np.log(np.maximum(spread_mv, 1e-4))  # the model's own uncertainty
    return rows


@dataclass(frozen=True)
class Calibration:
    """A card's ``trust`` block: per-lead coefficients, residual spread and grade thresholds.

    ``grades_ratio`` are the two thresholds on expected error / lead amplitude between good and
    fair, and fair and poor; relative error is what decides whether a wave's shape can be read.
    """

    coef: dict[str, list[float]]
    sigma: dict[str, float]
    grades_ratio: tuple[float, float]
    info: dict[str, Any]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"calibration features {data['features']} are not {FEATURES}")
        coef = {k: [float(c) for c in v] for k, v in data["coef"].items()}
        if set(coef) != set(LEAD_NAMES[1:]) or any(len(c) != len(FEATURES) for c in coef.values()):
            raise ValueError("calibration needs one coefficient row per reconstructed lead")
        lo, hi = (float(t) for t in data["grades_ratio"])
        info = {
            k: v for k, v in data.items() if k not in {"features", "coef", "sigma", "grades_ratio"}
        }
        return cls(coef, {k: float(v) for k, v in data["sigma"].items()}, (lo, hi), info)

    def expected_error(self, leads_mv: np.ndarray, fs: float, spread_mv: np.ndarray) -> np.ndarray:
        """Expected mean absolute error per lead (mV, 12 values; Lead I is the input: 0)."""
        x = features(leads_mv, fs, spread_mv)
        out = np.zeros(12)
        for i, name in enumerate(LEAD_NAMES[1:], start=1):
            out[i] = float(np.exp(x[i] @ np.asarray(self.coef[name])))
        return out

    def interval(
        self, expected: np.ndarray, coverage: float = 0.8
    ) -> tuple[np.ndarray, np.ndarray]:
        """Central ``coverage`` interval of the actual error around ``expected`` (log-normal)."""
        from statistics import NormalDist

        z = NormalDist().inv_cdf(0.5 + coverage / 2)
        s = np.array([0.0] + [self.sigma[n] for n in LEAD_NAMES[1:]])
        return expected * np.exp(-z * s), expected * np.exp(z * s)

    def grades(self, expected: np.ndarray, leads_mv: np.ndarray) -> list[str]:
        """good / fair / poor per lead from expected error relative to the lead's amplitude."""
        return self.grades_for(expected, amplitude(leads_mv))

    def grades_for(self, expected: np.ndarray, amplitude_mv: np.ndarray) -> list[str]:
        """:meth:`grades` from per-lead amplitudes (p1-p99, mV) measured elsewhere, such as the
        length-weighted mean over the hours of a long record."""
        ratio = expected / np.maximum(amplitude_mv, 1e-3)
        lo, hi = self.grades_ratio
        out = ["good" if r < lo else "fair" if r < hi else "poor" for r in ratio]
        out[0] = "good"  # Lead I is the measured input
        return out
