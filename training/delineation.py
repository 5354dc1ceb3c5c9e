"""Beat-level amplitude agreement per lead: R, S and T amplitudes, QRS duration and ST level.

Waveform scores (:mod:`training.metrics`) say little about what a reader measures on a printout,
so each record is delineated and the textbook quantities are compared, real vs reconstructed.

Fiducials come from neurokit2, not from a detector of our own: R peaks (``nk.ecg_peaks``), then
QRS onset, QRS offset (the J point) and T peak (``nk.ecg_delineate``, discrete wavelet method),
found once per record on the REAL Lead I and reused for every lead of both the real and the
reconstructed record. So the comparison is beat-aligned, and an error of the reconstruction can
change the values measured but never move the windows they are measured in. Lead I because it is
the model's input, the one lead that real and reconstructed share, and because it delineated best
on fold 9 (2 of 333 records failed, 3,627 beats kept; real lead II: 6 failed, 3,516 kept).

Per lead and beat, relative to the isoelectric level (mean over QRS onset - 30 ms .. - 10 ms, the
PR segment): R = maximum in the QRS window, S = minimum after R in it, T = value at the T peak,
ST = value at J + 60 ms; the QRS window is onset - 20 ms .. J + 20 ms. QRS duration is the
lead's own: the span over which its slope exceeds a tenth of its largest slope in that window.
One delineation of Lead I would give every lead the same duration, and neurokit2's delineator run
per lead was no remedy (on 40 fold-9 records it lost 24-44 % of beats in V1-V4 and aVR and put
V1 and aVR QRS near 190 ms). Each value is the median over beats.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ecg12.leads import LEAD_NAMES, lead_index
from training.metrics import PRECORDIAL, RECONSTRUCTED, agreement, eval_band

#: What is measured, in this order along the last axis of :func:`measure`'s output.
MEASURES = ("r_mv", "s_mv", "t_mv", "qrs_ms", "st_mv")
LABELS = {
    "r_mv": "R amplitude (mV)",
    "s_mv": "S amplitude (mV)",
    "t_mv": "T amplitude (mV)",
    "qrs_ms": "QRS duration (ms)",
    "st_mv": "ST level at J + 60 ms (mV)",
}
REFERENCE_LEAD = "I"
#: Fewer fully delineated beats than this and the record is counted as failed.
MIN_BEATS = 3
#: Fewer delineated records than this and the agreement statistics are NaN: a line through two
#: points says nothing.
MIN_RECORDS = 3
BASELINE_MS = (30.0, 10.0)  # isoelectric level: mean from onset - 30 ms to onset - 10 ms
#: Lead I's QRS window widened by this each side: room for leads whose QRS starts earlier or
#: ends later.
QRS_MARGIN_MS = 20.0
ST_AFTER_J_MS = 60.0
#: A lead's own QRS is where its slope exceeds this fraction of its largest slope in the window:
#: 0.1 gave per-lead medians of 64-84 ms on 150 fold-9 records, 0.2 cut the slow ends (48-68).
SLOPE_FRACTION = 0.1


class DelineationError(RuntimeError):
    """neurokit2 found too few usable beats in the reference lead."""


@dataclass(frozen=True)
class Fiducials:
    """Sample indices of the fully delineated beats of one record."""

    onset: np.ndarray
    offset: np.ndarray  # J point
    t_peak: np.ndarray


def _ms(ms: float, fs: float) -> int:
    return int(round(ms * fs / 1000.0))


def fiducials(lead: np.ndarray, fs: float) -> Fiducials:
    """QRS onset, J point and T peak of every beat of one band-passed lead that has all three."""
    import neurokit2 as nk

    n = len(lead)
    try:
        # neurokit2 warns about short records and imprecise rates; a failure is reported below.
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            _, info = nk.ecg_peaks(lead, sampling_rate=int(fs))
            _, waves = nk.ecg_delineate(
                lead, info["ECG_R_Peaks"], sampling_rate=int(fs), method="dwt"
            )
        onset, offset, t_peak = (
            np.asarray(waves[k], dtype=float)
            for k in ("ECG_R_Onsets", "ECG_R_Offsets", "ECG_T_Peaks")
        )
    # neurokit2 raises assorted errors (IndexError, ValueError, ...) on flat or beatless input.
    except Exception as exc:
        raise DelineationError(f"neurokit2 could not delineate: {exc}") from exc
    ok = np.isfinite(onset) & np.isfinite(offset) & np.isfinite(t_peak)
    onset, offset, t_peak = onset[ok], offset[ok], t_peak[ok]
    ok = (
        (onset - _ms(max(BASELINE_MS[0], QRS_MARGIN_MS), fs) >= 0)
        & (onset < offset)
        & (offset < t_peak)
        & (t_peak < n)
        & (offset + _ms(max(ST_AFTER_J_MS, QRS_MARGIN_MS), fs) < n)
    )
    if ok.sum() < MIN_BEATS:
        raise DelineationError(f"{int(ok.sum())} fully delineated beats, fewer than {MIN_BEATS}")
    return Fiducials(*(a[ok].astype(int) for a in (onset, offset, t_peak)))


def _qrs_span(seg: np.ndarray, fs: float) -> np.ndarray:
    """(samples, leads) around one QRS -> per lead, ms over which its slope is steep."""
    slope = np.abs(np.gradient(seg, axis=0))
    above = slope >= SLOPE_FRACTION * slope.max(axis=0)
    first = above.argmax(axis=0)
    last = len(seg) - 1 - above[::-1].argmax(axis=0)
    return (last - first) * 1000.0 / fs


def measure(x: np.ndarray, fid: Fiducials, fs: float) -> np.ndarray:
    """Band-passed (samples, leads) -> (leads, measures): each measure's median over beats."""
    b0, b1 = (_ms(ms, fs) for ms in BASELINE_MS)
    margin, st = _ms(QRS_MARGIN_MS, fs), _ms(ST_AFTER_J_MS, fs)
    beats = []
    for on, off, tp in zip(fid.onset, fid.offset, fid.t_peak, strict=True):
        base = x[on - b0 : on - b1].mean(axis=0)
        qrs = x[on - margin : off + margin + 1] - base
        r_at = qrs.argmax(axis=0)
        s = np.array([qrs[i:, lead].min() for lead, i in enumerate(r_at)])
        beats.append(
            np.stack(
                [qrs.max(axis=0), s, x[tp] - base, _qrs_span(qrs, fs), x[off + st] - base], axis=-1
            )
        )
    return np.median(np.stack(beats), axis=0)


@dataclass
class FoldMeasures:
    """Beat measurements of the records that delineated: (records, leads, measures) each."""

    real: np.ndarray
    rec: np.ndarray
    kept: list[int]  # indices into the fold's records
    failed: list[int]


def measure_fold(real: np.ndarray, rec: np.ndarray, fs: float) -> FoldMeasures:
    """Delineate each real record's Lead I and measure both records at those beats.

    Takes (records, samples, 12) mV and band-passes as every score does. Records where the
    delineation fails are left out and listed, never raised.
    """
    if real.shape != rec.shape or real.shape[-1] != len(LEAD_NAMES):
        raise ValueError(f"shape mismatch: real {real.shape}, reconstructed {rec.shape}")
    real, rec = eval_band(real, fs), eval_band(rec, fs)
    ref = lead_index(REFERENCE_LEAD)
    out_real, out_rec, kept, failed = [], [], [], []
    for i in range(len(real)):
        try:
            fid = fiducials(real[i, :, ref], fs)
        except DelineationError:
            failed.append(i)
            continue
        out_real.append(measure(real[i], fid, fs))
        out_rec.append(measure(rec[i], fid, fs))
        kept.append(i)
    shape = (0, len(LEAD_NAMES), len(MEASURES))
    return FoldMeasures(
        np.stack(out_real) if kept else np.empty(shape),
        np.stack(out_rec) if kept else np.empty(shape),
        kept,
        failed,
    )


def agreement_scores(fm: FoldMeasures) -> dict:
    """Per reconstructed lead and measure, :func:`training.metrics.agreement` across records;
    the headline is each statistic's mean over V1-V6."""

    def agree(lead: str, k: int) -> dict[str, float]:
        if len(fm.kept) < MIN_RECORDS:
            return dict.fromkeys(("slope", "r2", "bias", "loa"), float("nan"))
        return agreement(fm.real[:, lead_index(lead), k], fm.rec[:, lead_index(lead), k])

    per_lead = {name: {m: agree(name, k) for k, m in enumerate(MEASURES)} for name in RECONSTRUCTED}
    v1_v6 = {
        m: {
            stat: float(np.mean([per_lead[n][m][stat] for n in PRECORDIAL]))
            for stat in ("slope", "r2", "bias", "loa")
        }
        for m in MEASURES
    }
    return {
        "records": len(fm.kept),
        "failed": len(fm.failed),
        "reference_lead": REFERENCE_LEAD,
        "v1_v6": v1_v6,
        "per_lead": per_lead,
    }


def score(real: np.ndarray, rec: np.ndarray, fs: float) -> dict:
    """Beat-level agreement of aligned (records, samples, 12) arrays in mV at rate ``fs``."""
    fm = measure_fold(real, rec, fs)
    return {**agreement_scores(fm), "failed_indices": fm.failed}
