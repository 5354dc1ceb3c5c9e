"""How far to trust each lead: an expected error per lead, calibrated on held-out data.

The expected error is a log-linear model of a record's mean absolute error per lead, fitted on
PTB-XL fold 9 by ``training/calibrate.py`` and stored in the model card: ``trust`` for a Lead I
model, ``trust_by_inputs`` (one block per set of given leads) for an any-lead model. Its inputs
are things the runtime knows: the reference lead's amplitude, noise, baseline wander and heart
rate (Lead I, or the first given lead in standard order; the ``lead_i_*`` features name it),
the amplitude the model drew for the lead (uncertain leads come out small and average-looking),
and how much overlapping model windows disagreed on the lead.
Both sides call :func:`features`, so calibration and use cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ecg12.dsp import amplitude, band_ratios, heart_rate
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
#: The grade of a lead that was given (passed through, or derived exactly from given limb leads).
MEASURED = "measured"
#: Rate at which features are computed, in calibration and at run time alike.
CALIBRATION_FS = 500.0


def features(
    leads_mv: np.ndarray, fs: float, spread_mv: np.ndarray, reference: int = 0
) -> np.ndarray:
    """A reconstruction -> (12, len(FEATURES)) design matrix, one row per lead.

    ``leads_mv`` is the (samples, 12) output in mV, ``spread_mv`` its per-lead window
    disagreement (``Reconstruction.window_spread_mv``). The per-record features (the
    ``lead_i_*`` ones and the heart rate) come from lead ``reference``: a given lead, which a
    reconstruction passes through conditioned, so every feature comes from the output. Lead I
    (0) for a Lead I model; for an any-lead model the first given lead in standard order
    (:func:`reference_lead`).
    """
    return _features(leads_mv, amplitude(leads_mv), fs, spread_mv, reference)


def _features(
    leads_mv: np.ndarray, amp_mv: np.ndarray, fs: float, spread_mv: np.ndarray, reference: int
) -> np.ndarray:
    """:func:`features`, with each lead's amplitude ``amp_mv`` measured already."""
    amp = np.maximum(amp_mv, 1e-3)
    rows = np.empty((12, len(FEATURES)))
    rows[:, 0] = 1.0
    rows[:, 1] = np.log(amp[reference])
    rows[:, 2] = np.log(amp)
    ref = np.asarray(leads_mv[:, reference], dtype=np.float64)
    # Muscle and mains noise; baseline wander left after conditioning: one spectrum for both.
    noise, wander = band_ratios(ref, fs, [(40.0, np.inf), (0.5, 2.0)])
    rows[:, 3] = noise
    rows[:, 4] = np.log(heart_rate(ref, fs))
    rows[:, 5] = wander
    rows[:, 6] = np.log(np.maximum(spread_mv, 1e-4))  # the model's own uncertainty
    return rows


def reference_lead(given: tuple[str, ...] | list[str]) -> int:
    """Index of the lead the per-record features come from: the first given in standard order."""
    return min(LEAD_NAMES.index(name) for name in given)


def inputs_key(given: tuple[str, ...] | list[str]) -> str:
    """``I+II+III+aVR+aVL+aVF``: a set of given leads (after limb completion) as
    ``trust_by_inputs`` keys it, in standard order."""
    return "+".join(sorted(given, key=LEAD_NAMES.index))


def parse_inputs_key(key: str) -> tuple[str, ...]:
    """The leads of a ``trust_by_inputs`` key, which must be what :func:`inputs_key` writes for
    a set the runtime can meet: limb leads none, one or all six (two determine all six)."""
    names = tuple(key.split("+"))
    if (
        any(n not in LEAD_NAMES for n in names)
        or inputs_key(names) != key
        or len(set(names)) != len(names)
    ):
        raise ValueError(f"{key!r} is not standard lead names joined by '+' in standard order")
    if sum(n in LEAD_NAMES[:6] for n in names) not in (0, 1, 6):
        raise ValueError(f"{key!r}: two or more limb leads determine all six; list all six")
    return names


@dataclass(frozen=True)
class Calibration:
    """A card's ``trust`` block (or one ``trust_by_inputs`` block): per-lead coefficients,
    residual spread and grade thresholds, for the leads not ``given``.

    ``grades_ratio`` are the two thresholds on expected error / lead amplitude between good and
    fair, and fair and poor; relative error is what decides whether a wave's shape can be read.
    Given leads have expected error 0 and grade ``given_grade``: :data:`MEASURED`, except Lead I
    of a Lead I model's ``trust``, which has always been graded "good".
    """

    coef: dict[str, list[float]]
    sigma: dict[str, float]
    grades_ratio: tuple[float, float]
    info: dict[str, Any]
    given: tuple[str, ...] = ("I",)
    given_grade: str = MEASURED

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], given: tuple[str, ...] = ("I",), given_grade: str = MEASURED
    ) -> Calibration:
        """Validate a block: the feature list, and one coefficient row and one sigma for each
        lead not ``given``, no more."""
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"calibration features {data['features']} are not {FEATURES}")
        estimated = {n for n in LEAD_NAMES if n not in given}
        coef = {k: [float(c) for c in v] for k, v in data["coef"].items()}
        if set(coef) != estimated or any(len(c) != len(FEATURES) for c in coef.values()):
            raise ValueError("calibration needs one coefficient row per reconstructed lead")
        sigma = {k: float(v) for k, v in data["sigma"].items()}
        if not estimated <= set(sigma):
            raise ValueError("calibration needs a sigma per reconstructed lead")
        lo, hi = (float(t) for t in data["grades_ratio"])
        info = {
            k: v for k, v in data.items() if k not in {"features", "coef", "sigma", "grades_ratio"}
        }
        return cls(coef, sigma, (lo, hi), info, tuple(given), given_grade)

    def assess(
        self, leads_mv: np.ndarray, fs: float, spread_mv: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Expected mean absolute error per lead (mV, 12 values; given leads: 0), and each
        lead's amplitude (p1-p99, mV), which :meth:`grades` takes: measured once for both."""
        amp = amplitude(leads_mv)
        x = _features(leads_mv, amp, fs, spread_mv, reference_lead(self.given))
        out = np.zeros(12)
        for i, name in enumerate(LEAD_NAMES):
            if name not in self.given:
                out[i] = float(np.exp(x[i] @ np.asarray(self.coef[name])))
        return out, amp

    def interval(
        self, expected: np.ndarray, coverage: float = 0.8
    ) -> tuple[np.ndarray, np.ndarray]:
        """Central ``coverage`` interval of the actual error around ``expected`` (log-normal)."""
        from statistics import NormalDist

        z = NormalDist().inv_cdf(0.5 + coverage / 2)
        s = np.array([0.0 if n in self.given else self.sigma[n] for n in LEAD_NAMES])
        return expected * np.exp(-z * s), expected * np.exp(z * s)

    def grades(self, expected: np.ndarray, amplitude_mv: np.ndarray) -> list[str]:
        """good / fair / poor per lead from expected error relative to the lead's amplitude
        (p1-p99, mV: :meth:`assess` measures it; a long record gives the length-weighted mean
        over its hours); the given leads' grade is :attr:`given_grade`."""
        ratio = expected / np.maximum(amplitude_mv, 1e-3)
        lo, hi = self.grades_ratio

        def grade(r: float) -> str:
            return "good" if r < lo else "fair" if r < hi else "poor"

        return [
            self.given_grade if name in self.given else grade(r)
            for name, r in zip(LEAD_NAMES, ratio, strict=True)
        ]
