"""Read one ECG recording, whatever its format, into a single mV-scaled :class:`Recording`.

Supported: WFDB (``.hea``, its signal files or the bare record name; every format ``wfdb`` reads,
including CinC 2021 ``.mat`` and FLAC format 516), EDF/EDF+, delimited text (CSV, TSV, TXT,
with comment and header lines, a time column anywhere), the CSV the iPhone Health app exports
for Apple Watch ECGs, NumPy ``.npy``, and arrays (:func:`from_array`), which get exactly the
checks files get. Every problem a user can cause becomes a one-line
:class:`~ecg12.errors.InputError` naming the file.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from numbers import Real
from pathlib import Path

import numpy as np

from ecg12.dsp import amplitude, median
from ecg12.errors import InputError
from ecg12.formats import Channel, Parsed, default_names, table_channels
from ecg12.leads import LEAD_NAMES, lead_index

__all__ = [
    "MAX_FS",
    "MIN_FS",
    "ChosenLead",
    "Recording",
    "check_rate",
    "from_array",
    "lead_request",
    "lead_role",
    "offered_leads",
    "read_lead",
    "read_recording",
    "select_leads",
    "sliceable_length",
    "select_lead",
    "standard_lead",
    "take_leads",
    "unnamed_note",
]

#: Below this rate the QRS complex is not resolved well enough to reconstruct anything.
MIN_FS = 100.0
#: Above this no ECG device records; a larger rate is a mistake in the file or the option.
MAX_FS = 100_000.0
SUPPORTED = (
    "WFDB (.hea/.dat/.mat), EDF (.edf), text (.csv/.tsv/.txt), Apple Health CSV, NumPy (.npy)"
)
#: Units a channel may state or a user may give, as mV per unit (the micro sign spelled "u").
_MV_PER_UNIT = {"mv": 1.0, "uv": 1e-3, "v": 1e3}
# No surface ECG in mV has a median |x| above 20 mV or a p1-p99 range above 50 mV; such values
# are raw ADC counts or µV labelled as mV.
_MAX_MEDIAN_ABS_MV = 20.0
_MAX_RANGE_MV = 50.0
# Words before a lead name that do not change it: "Lead II", "ECG I", "ECG_Lead_V1".
_LEAD_PREFIX = re.compile(r"^(?:(?:lead|ecg)[\s_-]*)+", re.IGNORECASE)
# Holter and monitor leads that are not Lead I: modified limb leads (MLII, MLIII), modified
# chest leads (MCL1, CM5, CC5) and precordial names on their own (V, V1..V6 are standard).
_OTHER_LEAD = re.compile(
    r"^(ml(ii|iii|2|3)|d(ii|iii|2|3)|mcl[1-6]|cm[1-6]|cc[1-6]|mav[rlf]|v)$", re.I
)
# Other spellings of standard limb leads: Latin numerals (DI, D2), "LI", and the modified limb
# leads of Holters and monitors (MLII: electrodes on the torso), which the notes then name.
_ALIASES = {
    "li": "I",
    "di": "I",
    "d1": "I",
    "dii": "II",
    "d2": "II",
    "diii": "III",
    "d3": "III",
    "mli": "I",
    "mlii": "II",
    "ml2": "II",
    "mliii": "III",
    "ml3": "III",
}
_MODIFIED = {"mli", "mlii", "ml2", "mliii", "ml3"}
# Channel names listed in a message before "... (n in all)".
_LISTED = 12


@dataclass(frozen=True)
class ChosenLead:
    """A channel taken as a standard lead: ``required`` when the user named it, so that an
    unusable one is an error rather than left out."""

    lead: str  # standard name (LEAD_NAMES)
    column: int
    channel: str  # as the file names it
    required: bool


@dataclass(frozen=True)
class Recording:
    """A recording as read, with every voltage channel converted to mV (wfdb conventions).

    Channels recorded at another rate than the chosen one are named in ``comments``.
    """

    signal: np.ndarray  # (samples, channels) float64
    fs: float
    sig_name: list[str]
    units: list[str]
    source: str
    format: str  # "wfdb" | "edf" | "csv" | "apple-health-csv" | "npy" | "array"
    comments: list[str]

    @property
    def duration_s(self) -> float:
        return self.signal.shape[0] / self.fs


def read_recording(
    path: str | Path,
    fs: float | None = None,
    lead: str | None = None,
    units: str | None = None,
    gain: float | None = None,
    span: tuple[int, int] | None = None,
) -> Recording:
    """Read any supported recording.

    ``fs`` supplies the rate where the file has none. Where channels have different rates,
    those at the rate of ``lead`` (else Lead I, else ``fs``, else the most common rate of the
    voltage channels) are kept. ``units`` (mV, uV, V) or ``gain`` (ADC units per mV) state the
    scale of files that carry none, or carry a wrong one. ``span`` reads samples [start, stop)
    only, from a file :func:`sliceable_length` measures.
    """
    source = str(path)
    if not source.strip():
        raise InputError(f"no file name given ({source!r})")
    return _finalise(_parse(Path(path), source, span), source, fs, lead, units, gain)


def sliceable_length(path: str | Path) -> int | None:
    """Samples per channel of a recording that can be read in spans (single-rate WFDB, .npy),
    without reading its signal; None for other files (they are read whole)."""
    from ecg12.formats import physionet

    p = Path(path)
    try:
        if p.suffix.lower() == ".npy":
            shape = np.load(p, mmap_mode="r", allow_pickle=False).shape
            return max(shape) if len(shape) in (1, 2) else None
        record = physionet.record_name(p)
        return None if record is None else physionet.sliceable_length(record)
    except Exception:  # unreadable here: reading it whole reports why, in one line
        return None


def from_array(
    x: object,
    fs: float | None,
    lead: str | None = None,
    units: str | None = None,
    gain: float | None = None,
    source: str = "<array>",
) -> Recording:
    """An array as a recording, checked as a file is: 1-D is Lead I, 2-D is (samples, channels).

    A 2-D array with fewer rows than columns is taken as (channels, samples) and transposed;
    twelve channels are the standard leads in order. Values are mV unless ``units``/``gain``
    say otherwise.
    """
    return _finalise(_array(x, "array"), source, fs, lead, units, gain)


def select_lead(
    rec: Recording, lead: str | None = None, accept_other_lead: bool = False
) -> tuple[np.ndarray, str]:
    """Return one channel (1-D, mV) and its name: ``lead``, else Lead I, else the only channel.

    A channel named as another lead (II, MLII, V1, MCL1, ...) is refused unless
    ``accept_other_lead``: the models were trained on Lead I only.
    """
    matches = _columns(rec, "I" if lead is None else lead)
    if not matches and lead is None and len(rec.sig_name) == 1:
        matches = [0]
    if not matches:
        channels = _listing(rec.sig_name)
        problem = (
            f"no Lead I (channels: {channels}); pass --lead NAME"
            if lead is None
            else f"no channel {lead!r} (channels: {channels})"
        )
        raise InputError(problem, source=rec.source)
    j = matches[0]
    name = rec.sig_name[j]
    if lead_role(name) == "other" and not accept_other_lead:
        raise InputError(
            f"channel {name} is another lead than Lead I, and the model was trained on Lead I "
            "only; pass --accept-other-lead (accept_other_lead=True) to reconstruct "
            "from it anyway",
            source=rec.source,
        )
    x = rec.signal[:, j].copy()
    _check_millivolts(x, name, rec.units[j], rec.source)
    return x, name


def standard_lead(name: str) -> str | None:
    """The standard lead a channel name denotes (``Lead II``, ``ECG V1``, ``avr``, ``DII``,
    ``MLII`` -> ``II``), or None: modified chest leads (MCL1, CM5) and unnamed channels (ECG,
    ch1) are not standard leads until the user says which they are."""
    bare = _bare(name)
    if bare in _ALIASES:
        return _ALIASES[bare]
    try:
        return LEAD_NAMES[lead_index(bare)]
    except KeyError:
        return None


def lead_request(leads: object) -> tuple[str, ...] | None:
    """``leads`` as given (``"I,II,V1"``, ``["ch1=II", "V5"]``, ``{"ch1": "II"}``) as a tuple of
    ``LEAD`` and ``CHANNEL=LEAD`` items; checked against a file by :func:`select_leads`."""
    if leads is None:
        return None
    if isinstance(leads, str):
        items = leads.split(",")
    elif isinstance(leads, Mapping):
        items = [f"{channel}={lead}" for channel, lead in leads.items()]
    elif isinstance(leads, (list, tuple)) and all(isinstance(x, str) for x in leads):
        items = list(leads)
    else:
        raise InputError(
            "leads must be lead names ('I,II,V1' or a list) or CHANNEL=LEAD pairs "
            f"(a dict), not {type(leads).__name__}"
        )
    request = tuple(item.strip() for item in items if item.strip())
    if not request:
        raise InputError(f"leads names no lead ({leads!r:.40})")
    return request


def select_leads(
    rec: Recording, request: tuple[str, ...] | None = None, lead: str | None = None
) -> tuple[list[ChosenLead], list[str]]:
    """The channels to use as standard leads, in standard order, and what needs saying.

    ``lead`` names one channel (as :func:`select_lead` does); ``request`` (see
    :func:`lead_request`) names leads, each found by its standard name or, as ``CHANNEL=LEAD``,
    a channel taken as that lead. Without either, every channel named as a standard lead is
    used, and a single unnamed channel is taken as Lead I.
    """
    if lead is not None:
        return _named_channel(rec, lead)
    if request is None:
        return _discovered(rec)
    chosen: dict[str, ChosenLead] = {}
    for item in request:
        channel, _, name = item.rpartition("=")
        wanted = standard_lead(name)
        if wanted is None:
            raise InputError(
                f"unknown lead {name.strip()!r} in --leads; the standard leads are "
                f"{', '.join(LEAD_NAMES)} (name a channel's lead as CHANNEL=LEAD)",
                rec.source,
            )
        if wanted in chosen:
            raise InputError(f"lead {wanted} is given twice in --leads", rec.source)
        j = _leads_channel(rec, channel.strip(), wanted)
        if any(c.column == j for c in chosen.values()):
            raise InputError(f"channel {rec.sig_name[j]} is given twice in --leads", rec.source)
        chosen[wanted] = ChosenLead(wanted, j, rec.sig_name[j], required=True)
    return _in_order(chosen), _modified_notes(rec, chosen.values())


def offered_leads(
    rec: Recording, request: tuple[str, ...] | None = None, lead: str | None = None
) -> tuple[str, ...]:
    """The standard leads :func:`select_leads` would choose, to choose a model by: Lead I alone
    for a channel without a lead name, none where no channel is named as a lead (a Lead I
    model's reader then says what to do)."""
    if lead is not None:
        found = _columns(rec, lead)
        named = standard_lead(rec.sig_name[found[0]]) if found else None
        return (named or "I",)
    try:
        return tuple(c.lead for c in select_leads(rec, request)[0])
    except InputError:
        if request is not None:
            raise
        return ()


def take_leads(rec: Recording, chosen: list[ChosenLead]) -> np.ndarray:
    """The chosen channels (samples, leads) in mV, each checked to be an ECG in mV."""
    for c in chosen:
        _check_millivolts(rec.signal[:, c.column], c.channel, rec.units[c.column], rec.source)
    return rec.signal[:, [c.column for c in chosen]]


def unnamed_note(source: str, channel: str) -> str:
    """What every output says of a channel without a lead name taken as Lead I."""
    return f"{source}: channel {channel} carries no lead name; taken as Lead I"


def lead_role(name: str) -> str:
    """``"I"`` for Lead I, ``"other"`` for any other named lead, ``"unnamed"`` for the rest."""
    canonical = _canonical(name)
    if canonical == "I":
        return "I"
    if canonical in LEAD_NAMES or _OTHER_LEAD.match(canonical):
        return "other"
    return "unnamed"


def read_lead(
    path: str | Path,
    lead: str | None = None,
    fs: float | None = None,
    accept_other_lead: bool = False,
    units: str | None = None,
    gain: float | None = None,
) -> tuple[np.ndarray, float, str, Recording]:
    """Read a recording and pick one lead: ``(signal in mV, fs, channel name, recording)``."""
    rec = read_recording(path, fs=fs, lead=lead, units=units, gain=gain)
    x, name = select_lead(rec, lead, accept_other_lead=accept_other_lead)
    return x, rec.fs, name, rec


def check_rate(value: object, what: str, source: str | None = None) -> float:
    """A finite rate between :data:`MIN_FS` and :data:`MAX_FS`, or a one-line error."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InputError(f"{what} must be a number of Hz, not {value!r:.40}", source)
    rate = float(value)
    if not math.isfinite(rate) or rate <= 0:
        raise InputError(f"{what} must be a positive, finite number of Hz, got {rate:g}", source)
    if rate < MIN_FS:
        raise InputError(f"{what} {rate:g} Hz is below the {MIN_FS:g} Hz minimum", source)
    if rate > MAX_FS:
        raise InputError(f"{what} {rate:g} Hz is above the {MAX_FS:g} Hz maximum", source)
    return rate


# --- reading and settling --------------------------------------------------------------------


def _parse(p: Path, source: str, span: tuple[int, int] | None = None) -> Parsed:
    """Dispatch on the suffix (or a WFDB header beside the file) and parse (``span`` only)."""
    from functools import partial

    from ecg12.formats import edf, physionet, text

    readers: dict[str, tuple[str, Callable[[Path], Parsed]]] = {
        ".edf": ("EDF", edf.read_edf),
        ".npy": ("NumPy", partial(_read_npy, span=span)),
        ".csv": ("text", text.read_text),
        ".tsv": ("text", text.read_text),
        ".txt": ("text", text.read_text),
    }
    suffix = p.suffix.lower()
    if p.is_dir():
        raise InputError("is a folder, not a recording", source)
    if suffix in readers:
        if not p.is_file():
            raise InputError("file not found", source)
        (fmt, reader), arg = readers[suffix], p
    elif (record := physionet.record_name(p)) is not None:
        fmt, reader, arg = "WFDB", partial(physionet.read_wfdb, span=span), record
    elif not p.exists():
        raise InputError("file not found", source)
    elif suffix in {".dat", ".mat"}:
        raise InputError("no WFDB header (.hea) found for this signal file", source)
    else:
        raise InputError(f"unsupported format {suffix or p.name!r}; supported: {SUPPORTED}", source)
    try:
        return reader(arg)
    except InputError as exc:
        raise InputError(exc.problem, source=source) from exc
    except Exception as exc:  # parsers of untrusted files raise anything; report it in one line
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise InputError(f"cannot read {fmt} file: {reason}", source=source) from exc


def _finalise(
    parsed: Parsed,
    source: str,
    fs: float | None,
    lead: str | None,
    units: str | None,
    gain: float | None,
) -> Recording:
    """Keep the channels at the chosen rate, convert them to mV and settle the rate."""
    given = None if fs is None else check_rate(fs, "sampling rate", source)
    scale = _user_scale(units, gain, source)
    kept, rate = _same_rate(parsed.channels, lead, given)
    n = min(c.values.size for c in kept)
    if n == 0:
        raise InputError("no samples", source)
    signal = np.empty((n, len(kept)))
    out_units, comments = [], list(parsed.comments)
    for j, channel in enumerate(kept):
        signal[:, j] = channel.values[:n]
        stated = channel.unit or "mV"  # WFDB's and our default unit
        factor = _mv_per(stated)
        if scale is not None and factor is not None:
            if channel.unit and factor != scale[0]:
                comments.append(f"channel {channel.name}: file says {stated}, read as {scale[1]}")
            factor = scale[0]
        if factor is not None:
            signal[:, j] *= factor
        out_units.append("mV" if factor is not None else stated)
    dropped = [c for c in parsed.channels if c not in kept]
    if dropped:
        listed = ", ".join(f"{c.name} ({c.fs:g} Hz)" for c in dropped[:_LISTED])
        comments.append(f"ignored signals at other rates: {listed}")
    if rate is not None and given is not None and abs(rate - given) > 0.01 * rate:
        raise InputError(f"file says {rate:g} Hz but --fs {given:g} was given", source)
    if rate is None and given is None:
        raise InputError("sampling rate unknown; pass --fs", source)
    return Recording(
        signal=signal,
        fs=check_rate(rate, "sampling rate", source) if rate is not None else given,
        sig_name=[c.name for c in kept],
        units=out_units,
        source=source,
        format=parsed.format,
        comments=comments,
    )


def _same_rate(
    channels: list[Channel], lead: str | None, given: float | None
) -> tuple[list[Channel], float | None]:
    """The channels sharing one rate: that of ``lead`` (else Lead I), of ``given``, or else the
    most common rate among voltage channels (ties: the higher)."""
    if not channels:
        raise InputError("no signals")
    rates = {c.fs for c in channels}
    if len(rates) == 1:
        return channels, channels[0].fs
    wanted = _canonical("I" if lead is None else str(lead))
    named = [c.fs for c in channels if _canonical(c.name) == wanted]
    near = [r for r in rates if r is not None and given is not None and abs(r - given) <= 0.01 * r]
    voltage = [c.fs for c in channels if c.unit is None or _mv_per(c.unit) is not None]
    counts = Counter(voltage or [c.fs for c in channels])
    rate = (named or near or [max(counts, key=lambda r: (counts[r], r or 0.0))])[0]
    return [c for c in channels if c.fs == rate], rate


def _mv_per(unit: str) -> float | None:
    """mV per ``unit`` (mV, µV/uV, V in any case), or None for a unit that is not a voltage."""
    return _MV_PER_UNIT.get(unit.strip().lower().replace("µ", "u").replace("μ", "u"))


def _user_scale(units: str | None, gain: float | None, source: str) -> tuple[float, str] | None:
    """mV per stored value from ``units`` or ``gain``, and how to name it; None if neither."""
    if units is not None and gain is not None:
        raise InputError("give units or gain, not both", source)
    if units is not None:
        factor = _mv_per(units) if isinstance(units, str) else None
        if factor is None:
            raise InputError(f"units must be mV, uV or V, not {units!r:.40}", source)
        return factor, units
    if gain is not None:
        if isinstance(gain, bool) or not isinstance(gain, Real) or not 0 < float(gain) < math.inf:
            raise InputError(
                f"gain must be a positive number of units per mV, not {gain!r:.40}", source
            )
        return 1.0 / float(gain), f"{float(gain):g} units per mV"
    return None


def _named_channel(rec: Recording, lead: str) -> tuple[list[ChosenLead], list[str]]:
    """The one channel ``lead`` names (as :func:`select_lead` finds it) as its standard lead, or
    as Lead I when it has no lead name."""
    j = _channel(rec, lead)
    name = rec.sig_name[j]
    wanted = standard_lead(name)
    notes = []
    if wanted is None and lead_role(name) == "other":
        raise InputError(
            f"channel {name} is not a standard lead; say which lead it is with --leads {name}=LEAD",
            rec.source,
        )
    if wanted is None:
        wanted = "I"
        notes.append(unnamed_note(rec.source, name))
    chosen = ChosenLead(wanted, j, name, required=True)
    return [chosen], notes + _modified_notes(rec, [chosen])


def _discovered(rec: Recording) -> tuple[list[ChosenLead], list[str]]:
    """Every channel named as a standard lead (the first of two naming one lead), and notes on
    the channels left out."""
    chosen: dict[str, ChosenLead] = {}
    notes, unnamed = [], []
    for j, name in enumerate(rec.sig_name):
        wanted = standard_lead(name)
        if wanted is None:
            unnamed.append(name)
        elif wanted in chosen:
            first = chosen[wanted].channel
            notes.append(f"{rec.source}: channel {name} is lead {wanted} too; {first} is used")
        else:
            chosen[wanted] = ChosenLead(wanted, j, name, required=False)
    if not chosen and len(rec.sig_name) == 1:
        name = rec.sig_name[0]
        return [ChosenLead("I", 0, name, required=False)], [unnamed_note(rec.source, name)]
    if not chosen:
        raise InputError(
            f"no channel is named as a standard lead (channels: {_listing(rec.sig_name)}); "
            f"say which lead each is with --leads CHANNEL=LEAD (e.g. {rec.sig_name[0]}=II)",
            rec.source,
        )
    if unnamed:
        notes.append(
            f"{rec.source}: channels without a standard lead name left out: "
            f"{_listing(unnamed)} (--leads CHANNEL=LEAD uses one as a lead)"
        )
    return _in_order(chosen), notes + _modified_notes(rec, chosen.values())


def _leads_channel(rec: Recording, channel: str, wanted: str) -> int:
    """The column of ``channel`` (as ``--lead`` finds it), or of the first channel named as
    lead ``wanted`` when no channel is named."""
    if channel:
        return _channel(rec, channel)
    found = [j for j, name in enumerate(rec.sig_name) if standard_lead(name) == wanted]
    if not found:
        raise InputError(
            f"no channel for lead {wanted} (channels: {_listing(rec.sig_name)})", rec.source
        )
    return found[0]


def _channel(rec: Recording, name: str) -> int:
    """The column of the first channel called ``name``, or a one-line error."""
    found = _columns(rec, name)
    if not found:
        raise InputError(f"no channel {name!r} (channels: {_listing(rec.sig_name)})", rec.source)
    return found[0]


def _columns(rec: Recording, name: str) -> list[int]:
    """Columns of the channels called ``name``, compared by :func:`_canonical` form."""
    if not isinstance(name, str):
        raise InputError(f"lead must be a channel name, not {type(name).__name__}", rec.source)
    wanted = _canonical(name)
    return [j for j, n in enumerate(rec.sig_name) if _canonical(n) == wanted]


def _in_order(chosen: dict[str, ChosenLead]) -> list[ChosenLead]:
    return sorted(chosen.values(), key=lambda c: LEAD_NAMES.index(c.lead))


def _modified_notes(rec: Recording, chosen: Iterable[ChosenLead]) -> list[str]:
    """A note for each modified limb lead (MLII) taken as the standard one."""
    return [
        f"{rec.source}: channel {c.channel} is a modified limb lead (electrodes on the torso, "
        f"as on Holters), taken as Lead {c.lead}"
        for c in chosen
        if _bare(c.channel) in _MODIFIED
    ]


def _bare(name: str) -> str:
    """A channel name without the words that do not change it, in lower case."""
    return _LEAD_PREFIX.sub("", name.strip()).strip().lower()


def _canonical(name: str) -> str:
    """Comparable form of a channel name: ``Lead II``/``ii`` -> ``II``; ``MLI``/``LI`` -> ``I``."""
    bare = _LEAD_PREFIX.sub("", name.strip())
    if _ALIASES.get(bare.lower()) == "I":  # MLI: modified lead I (Holter); DI: Latin
        return "I"
    try:
        return LEAD_NAMES[lead_index(bare)]
    except KeyError:
        return bare.upper() if _OTHER_LEAD.match(bare) else name.strip().lower()


def _check_millivolts(x: np.ndarray, name: str, unit: str, source: str) -> None:
    """Refuse a channel whose values cannot be an ECG in mV, before it reaches a model."""
    if unit != "mV":
        raise InputError(f"channel {name} is in {unit!r}, which cannot be converted to mV", source)
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return  # all-NaN is the quality check's error
    magnitude = np.abs(finite)
    # Bounds that need no sort settle it for any ECG in mV: the whole range bounds p1-p99
    # (with a margin for the interpolation's rounding), and a median is within its limit when
    # no more than half the values exceed it. Only a lead near a limit is sorted and measured.
    over = np.count_nonzero(magnitude > _MAX_MEDIAN_ABS_MV)
    if finite.max() - finite.min() < 0.99 * _MAX_RANGE_MV and over <= (finite.size - 1) // 2:
        return
    median_abs = median(magnitude)
    spread = float(amplitude(finite))
    if median_abs > _MAX_MEDIAN_ABS_MV or spread > _MAX_RANGE_MV:
        raise InputError(
            f"channel {name} does not look like mV (median |x| {median_abs:.4g}, "
            f"p1-p99 range {spread:.4g}): raw ADC counts or µV labelled as mV? "
            "State the scale with --units or --gain",
            source,
        )


def _listing(names: list[str]) -> str:
    """Channel names for a message, at most :data:`_LISTED` of them."""
    shown = ", ".join(names[:_LISTED])
    return shown if len(names) <= _LISTED else f"{shown}, ... ({len(names)} in all)"


# --- NumPy ----------------------------------------------------------------------------------


def _read_npy(path: Path, span: tuple[int, int] | None = None) -> Parsed:
    """A ``.npy`` file holds what :func:`from_array` takes; pickled objects are not read.

    A ``span`` is read through a memory map, so a day-long array is never loaded whole.
    """
    try:
        arr = np.load(path, allow_pickle=False, mmap_mode=None if span is None else "r")
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise InputError("holds Python objects (a pickle), not a numeric array") from None
        raise
    if not isinstance(arr, np.ndarray):
        raise InputError("not a single .npy array")
    if span is not None and arr.ndim in (1, 2):
        rows = slice(*span)
        arr = arr[rows] if arr.ndim == 1 or arr.shape[0] >= arr.shape[1] else arr[:, rows]
    return _array(arr, "npy")


def _array(x: object, fmt: str) -> Parsed:
    """A real 1-D or 2-D numeric array as channels without a rate."""
    try:
        arr = np.asarray(x)
    except Exception:  # ragged lists and the like
        raise InputError(f"cannot be read as an array ({type(x).__name__})") from None
    if np.iscomplexobj(arr):
        raise InputError(f"complex values ({arr.dtype}); an ECG is real")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number) or arr.ndim not in (1, 2):
        raise InputError(f"expected a 1-D or 2-D numeric array, got {arr.dtype} {arr.shape}")
    if arr.ndim == 2 and arr.shape[0] < arr.shape[1]:
        arr = arr.T  # (channels, samples): an ECG has more samples than channels
    table = arr.astype(np.float64).reshape(arr.shape[0], -1)
    n = table.shape[1]
    return Parsed(table_channels(table, None, default_names(n), [None] * n), [], fmt)
