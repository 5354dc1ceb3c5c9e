"""read -> check -> preprocess -> model -> stitch -> mV -> consistent leads -> output rate.

Each step is a function of its own in its own module; this one only chains them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real
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
#: Highest output rate: ten times any ECG's bandwidth, and 10 s x 12 leads stay ~5 MB.
MAX_OUT_FS = 10_000.0


@dataclass(frozen=True)
class LeadInput:
    """The input lead as read and checked: mV at its own rate, with where it came from."""

    signal: np.ndarray
    fs: float
    lead: str
    source: str
    format: str
    warnings: list[str]
    other_lead: bool = False  # a named lead other than Lead I, accepted on request


@dataclass(frozen=True)
class ReadOptions:
    """How to read inputs: what the files cannot say themselves (see :func:`reconstruct`)."""

    fs: float | None = None
    lead: str | None = None
    accept_other_lead: bool = False
    units: str | None = None
    gain: float | None = None


def read_input(
    source: str | Path | np.ndarray, spec: PreprocessSpec, options: ReadOptions = ReadOptions()
) -> LeadInput:
    """Read a file or take an array, pick the lead and check that the model can use it.

    Arrays and files go through the same readers and checks. A channel without a lead name
    is taken as Lead I, and a named lead other than Lead I is refused unless accepted; both
    are said in the warnings.
    """
    from ecg12.quality import check_lead
    from ecg12.readers import from_array, lead_role, read_recording, select_lead

    o = options
    if isinstance(source, np.ndarray):
        rec = from_array(source, o.fs, lead=o.lead, units=o.units, gain=o.gain)
    elif isinstance(source, (str, Path)):
        rec = read_recording(source, fs=o.fs, lead=o.lead, units=o.units, gain=o.gain)
    else:
        raise InputError(f"expected a file name or a numpy array, got {type(source).__name__}")
    x, name = select_lead(rec, o.lead, accept_other_lead=o.accept_other_lead)
    role = lead_role(name)
    notes = []
    if role == "other":
        notes.append(
            f"{rec.source}: reconstructed from channel {name}, not Lead I; the model was trained "
            "on Lead I, so these 12 leads are not what a Lead I recording would give"
        )
    elif role == "unnamed":
        notes.append(f"{rec.source}: channel {name} carries no lead name; taken as Lead I")
    report = check_lead(x, rec.fs, rec.source, math.ceil(spec.window_seconds * rec.fs))
    warnings = notes + list(report.warnings)
    return LeadInput(report.signal, rec.fs, name, rec.source, rec.format, warnings, role == "other")


def reconstruct_inputs(
    model: Model,
    sources: list[str | Path | np.ndarray],
    options: ReadOptions = ReadOptions(),
    out_fs: float | None = DEFAULT_OUT_FS,
    notch_hz: float | None = None,
) -> list[Reconstruction]:
    """Reconstruct several inputs with one model, pooling their windows into shared batches."""
    if isinstance(sources, (str, Path, np.ndarray)) or not isinstance(sources, Sequence):
        raise InputError(
            f"expected a list of inputs, got a single {type(sources).__name__}; "
            "use reconstruct() for one input"
        )
    spec = model.spec
    rate = spec.fs if out_fs is None else check_out_fs(out_fs)
    notch_hz = check_notch(notch_hz)
    inputs = [read_input(s, spec, options) for s in sources]
    conditioned = [preprocess(i.signal, i.fs, spec, notch_hz=notch_hz) for i in inputs]
    raw = infer(conditioned, spec, model.predict)
    results = []
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
                from_other_lead=inp.other_lead,
            )
        )
    return results


def check_out_fs(out_fs: object) -> float:
    """An output rate the readers would accept as an input rate, up to :data:`MAX_OUT_FS`."""
    from ecg12.readers import check_rate

    rate = check_rate(out_fs, "output rate")
    if rate > MAX_OUT_FS:
        raise InputError(f"output rate {rate:g} Hz is above the {MAX_OUT_FS:g} Hz maximum")
    return rate


def check_notch(notch_hz: object) -> float | None:
    """None, or the mains frequency 50 or 60 (Hz)."""
    if notch_hz is None:
        return None
    if isinstance(notch_hz, bool) or not isinstance(notch_hz, Real) or notch_hz not in (50, 60):
        raise InputError(f"notch_hz must be 50 or 60 (Hz) or None, not {notch_hz!r:.40}")
    return float(notch_hz)


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
    accept_other_lead: bool = False,
    units: str | None = None,
    gain: float | None = None,
) -> Reconstruction:
    """Estimate the 12-lead ECG from a Lead I recording.

    ``source`` is a file (WFDB, EDF, text/CSV, Apple Health CSV, .npy) or an array in mV, 1-D
    or (samples, channels) (then ``fs`` is required); arrays get the same checks as files.
    ``lead`` picks the channel when none is named I. A channel named as another lead (II,
    MLII, V1, ...) is refused unless ``accept_other_lead``; the result then says so
    everywhere. ``units`` (mV, uV, V) or ``gain`` (ADC units per mV) state the scale of
    inputs that carry none. ``model`` is a name or a loaded :class:`~ecg12.model.Model`
    (reuse one for many files). ``out_fs`` is the output rate (default 500 Hz; None keeps
    the model's rate). ``notch_hz`` (50 or 60) removes mains interference first.
    """
    from ecg12.model import Model, load

    loaded = model if isinstance(model, Model) else load(model, device=device)
    return loaded.reconstruct(
        source,
        fs,
        lead=lead,
        out_fs=out_fs,
        notch_hz=notch_hz,
        accept_other_lead=accept_other_lead,
        units=units,
        gain=gain,
    )
