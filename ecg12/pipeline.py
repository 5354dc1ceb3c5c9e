"""read -> check -> preprocess -> model -> stitch -> mV -> consistent leads -> output rate.

Each step is a function of its own in its own module; this one only chains them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ecg12.errors import InputError
from ecg12.inference import finish, infer
from ecg12.leads import derive_limb_leads
from ecg12.preprocess import PreprocessSpec, preprocess, resample
from ecg12.result import Reconstruction
from ecg12.trust import CALIBRATION_FS

if TYPE_CHECKING:
    from ecg12.model import Model

DEFAULT_OUT_FS = 500.0


@dataclass(frozen=True)
class LeadInput:
    """Lead I as read and checked: mV at its own rate, with where it came from."""

    signal: np.ndarray
    fs: float
    lead: str
    source: str
    format: str
    warnings: list[str]


def read_input(
    source: str | Path | np.ndarray,
    spec: PreprocessSpec,
    fs: float | None = None,
    lead: str | None = None,
) -> LeadInput:
    """Read a file (or take an array in mV), pick Lead I and check that the model can use it."""
    from ecg12.quality import check_lead
    from ecg12.readers import MIN_FS, read_lead

    if isinstance(source, np.ndarray):
        if fs is None:
            raise InputError("sampling rate unknown; pass fs=", "<array>")
        if fs < MIN_FS:
            raise InputError(f"sampling rate {fs:g} Hz is below {MIN_FS:g} Hz", "<array>")
        x = np.asarray(source, dtype=np.float64)
        rate, name, fmt, where = float(fs), "I", "array", "<array>"
        if x.ndim != 1:
            raise InputError(f"expected a 1-D Lead I array, got shape {x.shape}", where)
    else:
        x, rate, name, rec = read_lead(source, lead=lead, fs=fs)
        fmt, where = rec.format, str(source)
    need = math.ceil(spec.window_seconds * rate)
    report = check_lead(x, rate, where, need)
    return LeadInput(report.signal, rate, name, where, fmt, list(report.warnings))


def reconstruct_inputs(
    model: Model,
    sources: list[str | Path | np.ndarray],
    fs: float | None = None,
    lead: str | None = None,
    out_fs: float | None = DEFAULT_OUT_FS,
    notch_hz: float | None = None,
) -> list[Reconstruction]:
    """Reconstruct several inputs with one model, pooling their windows into shared batches."""
    spec = model.spec
    inputs = [read_input(s, spec, fs=fs, lead=lead) for s in sources]
    conditioned = [preprocess(i.signal, i.fs, spec, notch_hz=notch_hz) for i in inputs]
    raw = infer(conditioned, spec, model.predict)
    results = []
    rate = out_fs or spec.fs
    trust = model.card.trust
    for inp, x, stitched in zip(inputs, conditioned, raw, strict=True):
        model_rate = finish(stitched.leads, x, spec)
        spread = (stitched.spread * spec.scale_mv).astype(np.float32)
        mv = to_rate(model_rate, spec.fs, rate)
        expected = grades = None
        if trust is not None:
            calib = mv if rate == CALIBRATION_FS else to_rate(model_rate, spec.fs, CALIBRATION_FS)
            expected = trust.expected_error(calib, CALIBRATION_FS, spread)
            grades = trust.grades(expected, calib)
        results.append(
            Reconstruction(
                p_signal=mv.astype(np.float32),
                fs=float(rate),
                model=model.card.name,
                model_version=model.card.version,
                source=inp.source,
                input_lead=inp.lead,
                input_fs=inp.fs,
                input_format=inp.format,
                warnings=inp.warnings,
                window_spread_mv=spread,
                expected_error_mv=expected,
                grades=grades,
            )
        )
    return results


def to_rate(leads_mv: np.ndarray, fs: float, rate: float) -> np.ndarray:
    """12 leads resampled to ``rate``, limb leads re-derived.

    Resampling is linear, so Einthoven's and Goldberger's laws survive it up to rounding;
    re-deriving makes them exact again.
    """
    if rate == fs:
        return leads_mv
    return derive_limb_leads(resample(leads_mv, fs, rate).astype(np.float32))


def reconstruct(
    source: str | Path | np.ndarray,
    fs: float | None = None,
    *,
    lead: str | None = None,
    model: str | Model | None = None,
    device: str = "auto",
    out_fs: float | None = DEFAULT_OUT_FS,
    notch_hz: float | None = None,
) -> Reconstruction:
    """Estimate the 12-lead ECG from a Lead I recording.

    ``source`` is a file (WFDB, EDF, CSV, Apple Health CSV, .npy) or a 1-D array in mV (then
    ``fs`` is required). ``lead`` picks the channel when none is named I. ``model`` is a name
    or a loaded :class:`~ecg12.model.Model` (reuse one for many files). ``out_fs`` is the
    output rate (default 500 Hz; None keeps the model's rate). ``notch_hz`` removes 50/60 Hz
    mains interference first.
    """
    from ecg12.model import Model, load

    loaded = model if isinstance(model, Model) else load(model, device=device)
    return reconstruct_inputs(loaded, [source], fs=fs, lead=lead, out_fs=out_fs, notch_hz=notch_hz)[
        0
    ]
