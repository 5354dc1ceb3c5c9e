"""read -> choose model -> check -> preprocess -> model -> stitch -> mV -> consistent leads ->
output rate.

Each step is a function of its own in its own module; this one only chains them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np

from ecg12.dsp import resample
from ecg12.errors import InputError
from ecg12.inference import finish, predict_windows, stitch_windows
from ecg12.leads import INDEPENDENT_LEADS, LEAD_NAMES, derive_limb_leads, place_leads
from ecg12.preprocess import PreprocessSpec, preprocess
from ecg12.result import Reconstruction
from ecg12.sources import (
    DEFAULT_READ,
    LeadSource,
    ReadOptions,
    choose_model,
    open_for,
    open_recording,
    read_options,
)
from ecg12.trust import CALIBRATION_FS, Calibration, inputs_key

if TYPE_CHECKING:
    from ecg12.model import Device, Model
    from ecg12.registry import Inputs, ModelCard

DEFAULT_OUT_FS = 500.0
#: What ``reconstruct_many`` does with an input it must refuse: raise (the default), or return
#: the error in that input's place and reconstruct the others.
Errors = Literal["raise", "return"]
ERRORS: tuple[str, ...] = get_args(Errors)
#: Highest output rate: ten times any ECG's bandwidth, and 10 s x 12 leads stay ~5 MB.
MAX_OUT_FS = 10_000.0
#: The columns :func:`to_rate` resamples: I, II and V1-V6. III, aVR, aVL and aVF are derived
#: from I and II afterwards, so resampling them too would be thrown away.
_RESAMPLED = [LEAD_NAMES.index(name) for name in INDEPENDENT_LEADS]


@dataclass(frozen=True)
class Prepared:
    """An input ready for the model: its leads as read and checked (unusable ones left out),
    what needs saying so far, and the conditioned signal in model units.

    A Lead I model: ``conditioned`` is Lead I (samples,). An any-lead model: the given leads
    (samples, 12), zero where not given, limb leads completed, and ``present`` their mask.
    """

    lead: LeadSource
    warnings: list[str]
    conditioned: np.ndarray
    present: np.ndarray | None = None


def prepare(
    source: str | Path | np.ndarray,
    spec: PreprocessSpec,
    options: ReadOptions = DEFAULT_READ,
    notch_hz: float | None = None,
    inputs: Inputs = "lead_i",
) -> Prepared:
    """Read, check and condition one input for a model with ``inputs``: all the work before
    the model.

    A plain function of picklable arguments, so a pool of worker processes can run it.
    """
    return prepare_lead(open_for(inputs, source, options), spec, notch_hz)


def prepare_lead(lead: LeadSource, spec: PreprocessSpec, notch_hz: float | None) -> Prepared:
    """Read an opened input whole, check each lead and condition it (each lead on its own).

    An any-lead input leaves out a lead that cannot be used unless the user named it
    (:func:`ecg12.quality.check_leads`), and is placed into the 12 standard rows.
    """
    from ecg12.quality import check_leads

    least = math.ceil(spec.window_seconds * lead.fs)
    signal, kept, warnings = check_leads(
        lead.read(0, lead.n), lead.fs, where(lead), least, lead.required
    )
    lead, warnings = lead.keep(kept), lead.notes + warnings
    if not lead.any_lead:
        return Prepared(lead, warnings, preprocess(signal[:, 0], lead.fs, spec, notch_hz=notch_hz))
    conditioned = preprocess(signal, lead.fs, spec, notch_hz=notch_hz)
    return Prepared(lead, warnings, *place_leads(conditioned, lead.leads))


def where(lead: LeadSource, span: str = "") -> list[str]:
    """How messages name each lead of an input: the input (and ``span``), and for an any-lead
    input the lead."""
    if not lead.any_lead:
        return [f"{lead.source}{span}"]
    return [f"{lead.source}{span}, lead {name}" for name in lead.leads]


def reconstruct_inputs(
    model: Model,
    sources: list[str | Path | np.ndarray] | list[LeadSource],
    options: ReadOptions = DEFAULT_READ,
    out_fs: float | None = DEFAULT_OUT_FS,
    notch_hz: float | None = None,
    errors: Errors = "raise",
) -> list[Reconstruction | InputError]:
    """Reconstruct several inputs with one model, pooling their windows into shared batches.

    Inputs may be opened already (:func:`ecg12.sources.open_for`), as a model choice needs.
    An input the checks refuse raises its :class:`InputError`, or with ``errors="return"``
    takes that error's place in the list while the others are reconstructed.
    """
    if isinstance(sources, (str, Path, np.ndarray)) or not isinstance(sources, Sequence):
        raise InputError(
            f"expected a list of inputs, got a single {type(sources).__name__}; "
            "use reconstruct() for one input"
        )
    if errors not in ERRORS:
        raise ValueError(f"errors must be one of {', '.join(ERRORS)}, not {errors!r}")
    rate = model.spec.fs if out_fs is None else check_out_fs(out_fs)
    notch_hz = check_notch(notch_hz)
    prepared: list[Prepared | InputError] = []
    for source in sources:
        try:
            lead = (
                source
                if isinstance(source, LeadSource)
                else open_for(model.inputs, source, options)
            )
            prepared.append(prepare_lead(lead, model.spec, notch_hz))
        except InputError as exc:
            if errors == "raise":
                raise
            prepared.append(exc)
    usable = [p for p in prepared if isinstance(p, Prepared)]
    done = iter(complete(model, usable, rate))  # [] for no inputs
    return [p if isinstance(p, InputError) else next(done) for p in prepared]


def complete(model: Model, prepared: list[Prepared], rate: float) -> list[Reconstruction]:
    """Run the model on prepared inputs (their windows pooled into batches) and assemble each."""
    raw = run_model(model, prepared)
    card = model.card
    return [assemble(card, p, windows, rate) for p, windows in zip(prepared, raw, strict=True)]


def run_model(model: Model, prepared: list[Prepared]) -> list[np.ndarray]:
    """The model on prepared inputs, their windows pooled into batches: each one's window
    predictions (windows, 12, window), which :func:`assemble` stitches."""
    present = None if model.inputs == "lead_i" else [p.present for p in prepared]
    signals = [p.conditioned for p in prepared]
    return predict_windows(signals, model.spec, model.predict, model.batch_size, present)


def assemble(
    card: ModelCard, prepared: Prepared, windows: np.ndarray, rate: float
) -> Reconstruction:
    """One input's window predictions -> stitched, the 12 leads in mV at ``rate``, with trust
    (the model's card is all it needs, so a worker process can run it: the process running the
    model then only runs it)."""
    spec, lead = card.preprocessing, prepared.lead
    stitched = stitch_windows(windows, len(prepared.conditioned), spec)
    model_rate = finish(stitched.leads, prepared.conditioned, spec, prepared.present)
    spread = (stitched.spread * spec.scale_mv).astype(np.float32)
    mv = to_rate(model_rate, spec.fs, rate)
    given = given_leads(prepared.present)
    trust, warnings = calibration(card, given, prepared.warnings)
    expected = grades = None
    if trust is not None:
        calib = mv if rate == CALIBRATION_FS else to_rate(model_rate, spec.fs, CALIBRATION_FS)
        expected, amp = trust.assess(calib, CALIBRATION_FS, spread)
        grades = trust.grades(expected, amp)
    return make_result(card, lead, mv, rate, warnings, spread, expected, grades, given)


def given_leads(present: np.ndarray | None) -> list[str] | None:
    """The names of the leads a mask marks given; None for a Lead I model (no mask)."""
    if present is None:
        return None
    return [name for name, p in zip(LEAD_NAMES, present, strict=True) if p > 0]


def calibration(
    card: ModelCard, given: list[str] | None, warnings: list[str]
) -> tuple[Calibration | None, list[str]]:
    """The card's calibration for the given leads (None: a Lead I model), and the warnings,
    with one added where an any-lead card is calibrated, but not for these leads."""
    trust = card.calibration(given or ["I"])
    if trust is None and given is not None and card.trust_by_inputs:
        key = inputs_key(given)
        known = ", ".join(sorted(card.trust_by_inputs))
        warnings = [
            *warnings,
            f"model {card.name} has no error calibration for leads {key} given "
            f"(calibrated: {known}); no expected error or grades",
        ]
    return trust, warnings


def make_result(
    card: ModelCard,
    lead: LeadSource,
    p_signal: np.ndarray,
    rate: float,
    warnings: list[str],
    spread: np.ndarray,
    expected: np.ndarray | None,
    grades: list[str] | None,
    given: list[str] | None = None,
) -> Reconstruction:
    """A result carrying the model's and the input's provenance, for the whole-record and the
    streamed paths alike. ``given``: the leads given to an any-lead model (None: Lead I model)."""
    return Reconstruction(
        p_signal=p_signal.astype(np.float32, copy=False),  # no copy of a float32 result
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
        input_leads=list(lead.leads),
        input_channels=list(lead.channels),
        given_leads=given,
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
    re-deriving makes them exact again. Only the eight independent leads are resampled (each
    column on its own, so they come out as they would with all twelve): a third less work.
    """
    if rate == fs:
        return leads_mv
    independent = resample(leads_mv[:, _RESAMPLED], fs, rate).astype(np.float32)
    out = np.empty((len(independent), len(LEAD_NAMES)), dtype=np.float32)
    out[:, _RESAMPLED] = independent
    return derive_limb_leads(out, copy=False)  # fills III, aVR, aVL and aVF, left unset


def reconstruct(
    source: str | Path | np.ndarray,
    fs: float | None = None,
    *,
    lead: str | None = None,
    leads: str | Sequence[str] | Mapping[str, str] | None = None,
    model: str | Model | None = None,
    device: Device = "auto",
    out_fs: float | None = DEFAULT_OUT_FS,
    notch_hz: float | None = None,
    accept_other_lead: bool = False,
    units: str | None = None,
    gain: float | None = None,
) -> Reconstruction:
    """Estimate the 12-lead ECG from the leads a recording has (Lead I, or any standard leads).

    Parameters
    ----------
    source
        A file (WFDB, EDF, text/CSV, Apple Health CSV, .npy), or an array in mV, 1-D or
        (samples, channels). Arrays get the same checks as files.
    fs
        Sampling rate in Hz; required for arrays and for files that do not state one.
    lead
        The channel to use when none is named Lead I.
    leads
        Which leads to use: names (``"I,II,V1"`` or a list), with ``CHANNEL=LEAD`` (or a dict
        such as ``{"ch1": "II"}``) for channels without a standard name. Default: every
        channel named as a standard lead (``Lead II``, ``V5``, ``MLII`` as II); a single
        unnamed channel is taken as Lead I.
    model
        A model name or a loaded :class:`~ecg12.model.Model` (reuse one for many files).
        Default: Lead I alone goes to the registry's default, any other set of leads to its
        ``any_lead_default``.
    device
        ``auto`` (CUDA when onnxruntime offers it), ``cpu`` or ``cuda``.
    out_fs
        Output rate in Hz (default 500); None keeps the model's rate.
    notch_hz
        50 or 60: remove mains interference first.
    accept_other_lead
        Let a Lead I model run on a channel named as another lead (II, MLII, V1, ...); the
        result then says so everywhere. It also keeps the choice on the default model.
    units, gain
        The scale of inputs that carry none: ``units`` mV, uV or V, or ``gain`` in ADC units
        per mV.

    Returns
    -------
    Reconstruction
        The 12 leads in mV in standard order, with provenance, warnings and (for calibrated
        models) each lead's expected error. An any-lead model passes the given leads through
        and keeps the limb leads consistent with them.

    Raises
    ------
    InputError
        The input cannot be used (unreadable, too short, flat, no usable lead, bad options);
        the message names the input and the problem.
    ModelError
        The model is unknown, cannot be fetched, or fails its hash or contract check.
    """
    from ecg12.model import Model, load
    from ecg12.registry import load_registry

    if model is not None:
        loaded = model if isinstance(model, Model) else load(model, device=device)
        return loaded.reconstruct(
            source,
            fs,
            lead=lead,
            leads=leads,
            out_fs=out_fs,
            notch_hz=notch_hz,
            accept_other_lead=accept_other_lead,
            units=units,
            gain=gain,
        )
    options = read_options(fs, lead, leads, accept_other_lead, units, gain)
    opened = open_recording(source, options)
    registry = load_registry()
    loaded = load(choose_model(registry, opened, options), device=device, registry=registry)
    lead_source = open_for(loaded.inputs, opened, options)
    (result,) = reconstruct_inputs(loaded, [lead_source], options, out_fs, notch_hz)
    assert isinstance(result, Reconstruction)  # errors="raise" raised instead
    return result
