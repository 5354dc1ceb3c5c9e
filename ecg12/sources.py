"""One input's chosen leads, open for reading whole or in spans: what the pipeline and the stream
share.

A day-long WFDB record or ``.npy`` array is read span by span, so its size never has to fit in
memory; every other format is read once and held (a day of one lead is ~350 MB as float64).
A Lead I model reads one channel (:func:`lead_source`); an any-lead model every standard lead
the input offers or the user chose (:func:`leads_source`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ecg12.errors import InputError

if TYPE_CHECKING:
    from ecg12.readers import Recording
    from ecg12.registry import Inputs, Registry

#: Recordings up to this many samples are read whole even where spans are possible: one read
#: is cheaper than two, and 2^18 samples are ~9 minutes at 500 Hz, ~2 MB.
WHOLE_SAMPLES = 2**18


@dataclass(frozen=True)
class ReadOptions:
    """How to read inputs: what the files cannot say themselves (see :func:`ecg12.reconstruct`).

    ``leads`` is the leads to use, as :func:`ecg12.readers.lead_request` gives them.
    """

    fs: float | None = None
    lead: str | None = None
    accept_other_lead: bool = False
    units: str | None = None
    gain: float | None = None
    leads: tuple[str, ...] | None = None


DEFAULT_READ = ReadOptions()


def read_options(
    fs: float | None = None,
    lead: str | None = None,
    leads: object = None,
    accept_other_lead: bool = False,
    units: str | None = None,
    gain: float | None = None,
) -> ReadOptions:
    """Options from the API's arguments; ``leads`` in any form
    :func:`ecg12.readers.lead_request` takes."""
    from ecg12.readers import lead_request

    if lead is not None and leads is not None:
        raise InputError("give lead or leads, not both")
    return ReadOptions(fs, lead, accept_other_lead, units, gain, lead_request(leads))


@dataclass(frozen=True)
class LeadSource:
    """The chosen channels of one input: rate, length, names, and a way to read spans.

    Its columns are standard leads in standard order (``leads``), Lead I alone for a Lead I
    model, whatever channel it came from.
    """

    fs: float
    n: int
    lead: str  # the channel (Lead I model), or the leads joined by "+" (any-lead model)
    source: str
    format: str
    notes: list[str] = field(default_factory=list)  # what the lead choice needs said
    other_lead: bool = False  # a named lead other than Lead I, accepted on request
    _read: Callable[[int, int], np.ndarray] = field(repr=False, default=None)  # type: ignore[assignment]
    leads: tuple[str, ...] = ("I",)
    channels: tuple[str, ...] = ()  # each column's channel, as the file names it
    required: tuple[bool, ...] = (True,)  # named by the user: unusable is an error, not left out
    any_lead: bool = False  # opened for an any-lead model

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples [start, stop) in mV, (samples, leads) float64; missing samples are NaN."""
        return self._read(max(start, 0), min(stop, self.n))

    def keep(self, columns: list[int]) -> LeadSource:
        """The same input with only ``columns`` (the others left out as unusable)."""
        if columns == list(range(len(self.leads))):
            return self
        read = self._read
        leads = tuple(self.leads[j] for j in columns)
        return replace(
            self,
            lead="+".join(leads),
            leads=leads,
            channels=tuple(self.channels[j] for j in columns),
            required=tuple(self.required[j] for j in columns),
            _read=lambda start, stop: read(start, stop)[:, columns],
        )


@dataclass(frozen=True)
class Opened:
    """A recording as read: whole, or its first span where it is long and can be read in spans
    (``total`` samples in all)."""

    rec: Recording
    path: str | Path | None  # None for an array
    total: int | None = None

    @property
    def long(self) -> bool:
        """Whether only the first span was read."""
        return self.total is not None and self.total > self.rec.signal.shape[0]

    @property
    def n(self) -> int:
        """Samples per channel in all."""
        return self.total if self.long and self.total is not None else self.rec.signal.shape[0]

    def spans(self, options: ReadOptions) -> Callable[[int, int], Recording] | None:
        """A reader of spans [start, stop) of a long recording; None where it is held whole."""
        if not self.long:
            return None
        from ecg12.readers import read_recording

        path, o, rate_lead = self.path, options, _rate_lead(options)
        return lambda start, stop: read_recording(
            path, fs=o.fs, lead=rate_lead, units=o.units, gain=o.gain, span=(start, stop)
        )


def open_recording(source: str | Path | np.ndarray, options: ReadOptions = DEFAULT_READ) -> Opened:
    """Read a file (its first span, where it is long and can be read in spans) or take an array,
    with every check a whole read gets."""
    from ecg12.readers import from_array, read_recording, sliceable_length

    o, rate_lead = options, _rate_lead(options)
    if isinstance(source, np.ndarray):
        return Opened(from_array(source, o.fs, lead=rate_lead, units=o.units, gain=o.gain), None)
    if not isinstance(source, (str, Path)):
        raise InputError(f"expected a file name or a numpy array, got {type(source).__name__}")
    total = sliceable_length(source)
    first = None if total is None or total <= WHOLE_SAMPLES else (0, WHOLE_SAMPLES)
    rec = read_recording(source, fs=o.fs, lead=rate_lead, units=o.units, gain=o.gain, span=first)
    return Opened(rec, source, total)


def open_lead(source: str | Path | np.ndarray, options: ReadOptions = DEFAULT_READ) -> LeadSource:
    """Open an input for a Lead I model (see :func:`lead_source`)."""
    return lead_source(open_recording(source, options), options)


def open_for(
    inputs: Inputs, source: str | Path | np.ndarray | Opened, options: ReadOptions = DEFAULT_READ
) -> LeadSource:
    """Open an input (or take one opened) for a model with ``inputs`` (its contract)."""
    opened = source if isinstance(source, Opened) else open_recording(source, options)
    return leads_source(opened, options) if inputs == "any" else lead_source(opened, options)


def lead_source(opened: Opened, options: ReadOptions = DEFAULT_READ) -> LeadSource:
    """One channel, as a Lead I model takes it: ``lead``, else Lead I, else the only channel.

    A channel without a lead name is taken as Lead I, and a named lead other than Lead I is
    refused unless accepted; both are said in ``notes``. ``leads`` may name Lead I only.
    """
    from ecg12.readers import lead_role, select_lead, unnamed_note

    o, rec = options, opened.rec
    lead = o.lead if o.leads is None else _lead_i_channel(o.leads, rec.source)
    x, name = select_lead(rec, lead, accept_other_lead=o.accept_other_lead)
    read = _reader(opened, o, x[:, None], lambda span: select_lead(span, lead, True)[0][:, None])
    role = lead_role(name)
    notes = []
    if role == "other":
        notes.append(
            f"{rec.source}: reconstructed from channel {name}, not Lead I; the model was trained "
            "on Lead I, so these 12 leads are not what a Lead I recording would give"
        )
    elif role == "unnamed":
        notes.append(unnamed_note(rec.source, name))
    return LeadSource(
        fs=rec.fs,
        n=opened.n,
        lead=name,
        source=rec.source,
        format=rec.format,
        notes=notes,
        other_lead=role == "other",
        _read=read,
        channels=(name,),
    )


def leads_source(opened: Opened, options: ReadOptions = DEFAULT_READ) -> LeadSource:
    """Every standard lead the input offers (or ``leads``/``lead`` chose), as an any-lead model
    takes them; see :func:`ecg12.readers.select_leads`."""
    from ecg12.readers import select_leads, take_leads

    rec = opened.rec
    chosen, notes = select_leads(rec, options.leads, options.lead)
    read = _reader(opened, options, take_leads(rec, chosen), lambda span: take_leads(span, chosen))
    leads = tuple(c.lead for c in chosen)
    return LeadSource(
        fs=rec.fs,
        n=opened.n,
        lead="+".join(leads),
        source=rec.source,
        format=rec.format,
        notes=notes,
        _read=read,
        leads=leads,
        channels=tuple(c.channel for c in chosen),
        required=tuple(c.required for c in chosen),
        any_lead=True,
    )


def choose_model(registry: Registry, opened: Opened, options: ReadOptions = DEFAULT_READ) -> str:
    """The model for an input when none is named (:meth:`ecg12.registry.Registry.model_for`).

    ``accept_other_lead`` asks for a Lead I model on another lead: the default. Leads asked
    for (``leads``) that only an any-lead model takes, where the registry names none, are an
    error rather than Lead I taken instead.
    """
    from ecg12.readers import offered_leads

    if options.accept_other_lead:
        return registry.default
    offered = offered_leads(opened.rec, options.leads, options.lead)
    if options.leads is not None and offered != ("I",) and registry.any_lead_default is None:
        raise InputError(
            f"leads {', '.join(offered)} need a model that takes any leads, and the model "
            "registry names none (any_lead_default); pass --model NAME",
            opened.rec.source,
        )
    return registry.model_for(offered)


def _reader(
    opened: Opened,
    options: ReadOptions,
    held: np.ndarray,
    take: Callable[[Recording], np.ndarray],
) -> Callable[[int, int], np.ndarray]:
    """How to read samples [start, stop) of the chosen channels: from ``held`` (taken from the
    recording read whole), or by reading that span and taking them from it."""
    spans = opened.spans(options)
    if spans is None:
        return lambda start, stop: held[start:stop]
    return lambda start, stop: take(spans(start, stop))


def _rate_lead(options: ReadOptions) -> str | None:
    """The channel whose rate is kept where channels differ in rate: ``lead``, else the first
    channel or lead ``leads`` names (else the readers' choice)."""
    if options.lead is not None or not options.leads:
        return options.lead
    channel, _, lead = options.leads[0].rpartition("=")
    return channel.strip() or lead.strip()


def _lead_i_channel(request: tuple[str, ...], source: str) -> str:
    """The channel ``leads`` names for a Lead I model, which takes Lead I only."""
    from ecg12.readers import standard_lead

    channel, _, lead = request[0].rpartition("=")
    if len(request) != 1 or standard_lead(lead) != "I":
        raise InputError(
            f"the model takes Lead I only, not leads {', '.join(request)}; choose a model "
            'with "inputs": "any" (--model NAME) for other leads',
            source,
        )
    return channel.strip() or "I"
