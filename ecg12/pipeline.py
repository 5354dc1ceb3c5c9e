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
from ecg12.inference import Stitched, finish, infer
from ecg12.leads import derive_limb_leads
from ecg12.preprocess import PreprocessSpec, preprocess, resample
from ecg12.result import Reconstruction
from ecg12.sources import DEFAULT_READ, LeadSource, ReadOptions, open_lead
from ecg12.trust import CALIBRATION_FS

if TYPE_CHECKING:
    from ecg12.model import Model
    from ecg12.registry import ModelCard

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
class Prepared:
    """An input ready for the model: the checked lead and its conditioned form (model units)."""

    input: LeadInput
    conditioned: np.ndarray


def read_input(
    source: str | Path | np.ndarray, spec: PreprocessSpec, options: ReadOptions = DEFAULT_READ
) -> LeadInput:
    """Read a file or take an array, pick the lead and check that the model can use it.

    Arrays and files go through the same readers and checks (see :func:`open_lead`).
    """
    return check_input(open_lead(source, options), spec)


def check_input(lead: LeadSource, spec: PreprocessSpec) -> LeadInput:
    """Read an opened lead whole and check that the model can use it."""
    from ecg12.quality import check_lead

    report = check_lead(
        lead.read(0, lead.n), lead.fs, lead.source, math.ceil(spec.window_seconds * lead.fs)
    )
    warnings = lead.notes + list(report.warnings)
    return LeadInput(
        report.signal, lead.fs, lead.lead, lead.source, lead.format, warnings, lead.other_lead
    )


def prepare(
    source: str | Path | np.ndarray,
    spec: PreprocessSpec,
    options: ReadOptions = DEFAULT_READ,
    notch_hz: float | None = None,
) -> Prepared:
    """Read, check and condition one input: all the work before the model, per input.

    A plain function of picklable arguments, so a pool of worker processes can run it.
    """
    return prepare_lead(open_lead(source, options), spec, notch_hz)


def prepare_lead(lead: LeadSource, spec: PreprocessSpec, notch_hz: float | None) -> Prepared:
    """:func:`prepare` for a lead already opened."""
    inp = check_input(lead, spec)
    return Prepared(inp, preprocess(inp.signal, inp.fs, spec, notch_hz=notch_hz))


def reconstruct_inputs(
    model: Model,
    sources: list[str | Path | np.ndarray],
    options: ReadOptions = DEFAULT_READ,
    out_fs: float | None = DEFAULT_OUT_FS,
    notch_hz: float | None = None,
) -> list[Reconstruction]:
    """Reconstruct several inputs with one model, pooling their windows into shared batches."""
    if isinstance(sources, (str, Path, np.ndarray)) or not isinstance(sources, Sequence):
        raise InputError(
            f"expected a list of inputs, got a single {type(sources).__name__}; "
            "use reconstruct() for one input"
        )
    rate = model.spec.fs if out_fs is None else check_out_fs(out_fs)
    notch_hz = check_notch(notch_hz)
    prepared = [prepare(s, model.spec, options, notch_hz) for s in sources]
    return complete(model, prepared, rate)


def complete(model: Model, prepared: list[Prepared], rate: float) -> list[Reconstruction]:
    """Run the model on prepared inputs (their windows pooled into batches) and assemble each."""
    raw = infer([p.conditioned for p in prepared], model.spec, model.predict)
    return [assemble(model, p, stitched, rate) for p, stitched in zip(prepared, raw, strict=True)]


def assemble(model: Model, prepared: Prepared, stitched: Stitched, rate: float) -> Reconstruction:
    """One input's stitched prediction -> the 12 leads in mV at ``rate``, with trust."""
    spec, inp = model.spec, prepared.input
    model_rate = finish(stitched.leads, prepared.conditioned, spec)
    spread = (stitched.spread * spec.scale_mv).astype(np.float32)
    mv = to_rate(model_rate, spec.fs, rate)
    expected = grades = None
    if model.card.trust is not None:
        calib = mv if rate == CALIBRATION_FS else to_rate(model_rate, spec.fs, CALIBRATION_FS)
        expected = model.card.trust.expected_error(calib, CALIBRATION_FS, spread)
        grades = model.card.trust.grades(expected, calib)
    return make_result(model.card, inp, mv, rate, inp.warnings, spread, expected, grades)


def make_result(
    card: ModelCard,
    lead: LeadInput | LeadSource,
    p_signal: np.ndarray,
    rate: float,
    warnings: list[str],
    spread: np.ndarray,
    expected: np.ndarray | None,
    grades: list[str] | None,
) -> Reconstruction:
    """A result carrying the model's and the input's provenance, for the whole-record and the
    streamed paths alike."""
    return Reconstruction(
        p_signal=p_signal.astype(np.float32),
        fs=float(rate),
        model=card.name,
        model_version=card.version,
        source=lead.source,
        input_lead=lead.lead,
        input_fs=lead.fs,
        input_format=lead.format,
        warnings=warnings,
        window_spread_mv=spread,
        expected_error_mv=expected,
        grades=grades,
        from_other_lead=lead.other_lead,
    )


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
