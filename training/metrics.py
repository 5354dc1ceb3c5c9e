"""Accuracy of reconstructed 12-lead ECGs: waveform agreement and amplitude fidelity.

Conventions (as in ../shared/docs/ekgan.md): both signals band-passed 0.5-40 Hz; scores over the
11 reconstructed leads (Lead I is the input); Pearson r, MAE and RMSE per record and lead, then
averaged over records; amplitude = p99 - p1 per record and lead, with slope and R^2 of
reconstructed on real across records (1/1: each patient's own amplitudes; 0/0: the average).
"""

from __future__ import annotations

import numpy as np

from ecg12.dsp import amplitude, bandpass
from ecg12.leads import LEAD_NAMES

EVAL_BAND = (0.5, 40.0)
RECONSTRUCTED = LEAD_NAMES[1:]
PRECORDIAL = ("V1", "V2", "V3", "V4", "V5", "V6")


def eval_band(x: np.ndarray, fs: float) -> np.ndarray:
    """(records, samples, leads) -> the same, band-passed as every score here assumes."""
    return bandpass(x, fs, EVAL_BAND[0], EVAL_BAND[1], order=2, axis=1)


def pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r along axis 1 of (records, samples, leads) arrays -> (records, leads)."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    return np.where(den > 0, (a * b).sum(axis=1) / np.maximum(den, 1e-12), np.nan)


#: The band where a QRS complex's sharpness lives and a 100 Hz recording has nothing.
SHARP_BAND = (50.0, 100.0)


def sharpness_ratio(real: np.ndarray, rec: np.ndarray, fs: float) -> float:
    """Median over records and the 11 reconstructed leads of the RMS of ``rec`` in
    :data:`SHARP_BAND` over that of ``real``: 1 = as sharp as the real ECG, well below 1 = a
    blurred QRS. Meaningful for real ECGs recorded at full band (500 Hz) only."""
    band = [bandpass(x[..., 1:], fs, *SHARP_BAND, order=4, axis=1) for x in (real, rec)]
    rms_real, rms_rec = (np.sqrt((b**2).mean(axis=1)) for b in band)
    return float(np.median(rms_rec / np.maximum(rms_real, 1e-6)))


def agreement(real: np.ndarray, rec: np.ndarray) -> dict[str, float]:
    """Slope and R^2 of ``rec`` on ``real`` and Bland-Altman bias and 95% limits, across records."""
    slope, intercept = np.polyfit(real, rec, 1)
    resid = rec - (slope * real + intercept)
    ss_tot = ((rec - rec.mean()) ** 2).sum()
    diff = rec - real
    return {
        "slope": float(slope),
        "r2": float(1 - (resid**2).sum() / ss_tot) if ss_tot > 0 else float("nan"),
        "bias": float(diff.mean()),
        "loa": float(1.96 * diff.std(ddof=1)),
    }


#: Records band-passed at a time: a fold of 2,000 10 s records at 500 Hz is 1 GB per float64
#: copy, and the filters make several.
CHUNK = 128


def record_scores(real: np.ndarray, rec: np.ndarray, fs: float) -> tuple[np.ndarray, ...]:
    """Per record and lead (records, 12): r, MAE, RMSE, real and reconstructed amplitude, in the
    evaluation band, :data:`CHUNK` records at a time."""
    if real.shape != rec.shape or real.shape[-1] != 12:
        raise ValueError(f"shape mismatch: real {real.shape}, reconstructed {rec.shape}")
    chunks = [
        _chunk_scores(real[s : s + CHUNK], rec[s : s + CHUNK], fs)
        for s in range(0, len(real), CHUNK)
    ]
    return tuple(np.concatenate(parts) for parts in zip(*chunks, strict=True))


def _chunk_scores(real: np.ndarray, rec: np.ndarray, fs: float) -> tuple[np.ndarray, ...]:
    real, rec = eval_band(real, fs), eval_band(rec, fs)
    return (
        pearson_rows(real, rec),
        np.abs(real - rec).mean(axis=1),
        np.sqrt(((real - rec) ** 2).mean(axis=1)),
        amplitude(real, axis=1),
        amplitude(rec, axis=1),
    )


def score(
    real: np.ndarray, rec: np.ndarray, fs: float, estimated: tuple[str, ...] = RECONSTRUCTED
) -> dict:
    """All scores for aligned (records, samples, 12) arrays in mV at rate ``fs``, over the
    ``estimated`` leads (default: the 11 that a Lead I model reconstructs)."""
    r, mae, rmse, amp_real, amp_rec = record_scores(real, rec, fs)
    per_lead = {}
    for name in estimated:
        i = LEAD_NAMES.index(name)
        per_lead[name] = {
            "r": float(np.nanmean(r[:, i])),
            "mae_mv": float(mae[:, i].mean()),
            "rmse_mv": float(rmse[:, i].mean()),
            "amplitude": agreement(amp_real[:, i], amp_rec[:, i]),
        }
    chest = [n for n in PRECORDIAL if n in per_lead]
    prec = [per_lead[n]["amplitude"] for n in chest]
    cols = [LEAD_NAMES.index(n) for n in estimated]
    return {
        "records": int(real.shape[0]),
        "mean_r": float(np.mean([per_lead[n]["r"] for n in estimated])),
        "mae_mv": float(np.mean([per_lead[n]["mae_mv"] for n in estimated])),
        "rmse_mv": float(np.mean([per_lead[n]["rmse_mv"] for n in estimated])),
        "v1_v6_r": float(np.mean([per_lead[n]["r"] for n in chest])) if chest else float("nan"),
        "v1_v6_amplitude_slope": float(np.mean([a["slope"] for a in prec])) if prec else np.nan,
        "v1_v6_amplitude_r2": float(np.mean([a["r2"] for a in prec])) if prec else np.nan,
        "per_lead": per_lead,
        # Per record, mean over the estimated leads: what calibration and outlier views need.
        "record_mae_mv": mae[:, cols].mean(axis=1).tolist(),
    }


def summary_line(s: dict) -> str:
    return (
        f"r {s['mean_r']:.3f}  MAE {s['mae_mv']:.4f} mV  V1-V6 amp slope "
        f"{s['v1_v6_amplitude_slope']:.2f} R2 {s['v1_v6_amplitude_r2']:.2f}"
    )
