"""WFDB records (PhysioNet's format), through ``wfdb``, with the checks ``wfdb`` leaves out;
plain records (:mod:`ecg12.formats.plain_wfdb`) without it.

``wfdb`` reads a header rate of ``abc``, ``-5`` or ``nan`` as its 250 Hz default and ``1e9``
as 1 Hz, so the rate is checked against the header text. Records whose first line carries a
start time or date in another form than WFDB's (the PhysioNet/CinC 2017 KardiaMobile records
as re-shared with ISO dates) make ``wfdb`` fail; they are read through a copy of the header
without it. Multi-frequency records come back channel by channel at each channel's own rate,
not averaged down to the frame rate.
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
from pathlib import Path

from ecg12.errors import InputError
from ecg12.formats import Channel, Parsed
from ecg12.formats.plain_wfdb import plain_header

__all__ = ["header_lists", "read_wfdb", "record_name", "sliceable_length"]

_WFDB_TIME = re.compile(r"\d{1,2}:\d{1,2}(:\d{1,2}(\.\d+)?)?")
_WFDB_DATE = re.compile(r"\d{1,2}/\d{1,2}/\d{4}")


def record_name(p: Path) -> Path | None:
    """The WFDB record behind ``p`` (header, signal file or bare name), or None if there is none."""
    if p.suffix.lower() == ".hea":
        return p.with_suffix("") if p.is_file() else None
    if Path(f"{p}.hea").is_file():
        return p
    if not p.is_file():
        return None
    if p.with_suffix(".hea").is_file():
        return p.with_suffix("")
    # A signal file named after its record plus a suffix, e.g. PTB-XL's 00001_hr_1.dat.
    for header in sorted(p.parent.glob("*.hea")):
        if p.stem.startswith(header.stem) and header_lists(header, p.name):
            return header.with_suffix("")
    return None


def header_lists(header: Path, file_name: str) -> bool:
    """Whether ``header`` names ``file_name`` as one of its signal files."""
    lines = _lines(header.read_text(encoding="latin-1"))
    return any(line.split()[:1] == [file_name] for line in lines[1:])


def sliceable_length(record: Path) -> int | None:
    """Samples per channel of a single-rate record wfdb can read in spans, else None."""
    text = Path(f"{record}.hea").read_text(encoding="latin-1")
    lines = _lines(text)
    if not lines or not _is_wfdb_time(lines[0].split()[4:] or ["0:0"]):
        return None
    if (plain := plain_header(record, text)) is not None:
        return plain.sig_len
    import wfdb

    head = wfdb.rdheader(str(record))
    spf = [int(n or 1) for n in (getattr(head, "samps_per_frame", None) or [1])]
    return int(head.sig_len) if isinstance(head, wfdb.Record) and max(spf) == 1 else None


def read_wfdb(record: Path, span: tuple[int, int] | None = None) -> Parsed:
    """Every channel of a single-segment or multi-segment WFDB record, in its unit.

    ``span`` reads samples [start, stop) of a single-rate record (see :func:`sliceable_length`).
    """
    header = Path(f"{record}.hea")
    text = header.read_text(encoding="latin-1")
    lines = _lines(text)
    if not lines:
        raise InputError("empty WFDB header")
    fields = lines[0].split()
    if len(fields) < 2:
        raise InputError(f"WFDB header line 1 {lines[0]!r} lacks the number of signals")
    fs = _header_rate(fields[2]) if len(fields) > 2 else None
    when = fields[4:]
    if when and not _is_wfdb_time(when):
        with tempfile.TemporaryDirectory(prefix="ecg12-wfdb-") as tmp:
            copy = _clean_copy(record, text, lines, Path(tmp))
            parsed = _rdrecord(copy, fs, span)
        start = " ".join(when)
        return Parsed(parsed.channels, [*parsed.comments, f"start: {start}"], parsed.format)
    if (plain := plain_header(record, text)) is not None:
        values = plain.read(*(span or (0, None)))
        channels = [
            Channel(values[:, j], fs, name, unit)
            for j, (name, unit) in enumerate(zip(plain.sig_name, plain.units, strict=True))
        ]
        return Parsed(channels, plain.comments, "wfdb")
    return _rdrecord(record, fs, span)


def _rdrecord(record: Path, fs: float | None, span: tuple[int, int] | None) -> Parsed:
    import wfdb  # imports pandas; keep `import ecg12` cheap

    head = wfdb.rdheader(str(record))
    spf = [int(n or 1) for n in (getattr(head, "samps_per_frame", None) or [1])]
    expanded = max(spf) > 1
    if span is not None and expanded:
        raise InputError("a multi-frequency WFDB record cannot be read in spans")
    start, stop = span or (0, None)
    try:
        rec = wfdb.rdrecord(str(record), sampfrom=start, sampto=stop, smooth_frames=not expanded)
    except FileNotFoundError as exc:
        raise InputError(f"signal file {Path(exc.filename or '?').name} is missing") from None
    # The header has been read, so what fails now is a signal file: wfdb's short-read check
    # ("Samples were not loaded correctly"), libsndfile on FLAC ("Internal psf_fseek() failed").
    except (ValueError, RuntimeError, EOFError) as exc:
        raise InputError(_damaged(head)) from exc
    frame_fs = float(rec.fs) if fs is None else fs
    signals = rec.e_p_signal if expanded else [rec.p_signal[:, j] for j in range(rec.n_sig)]
    per_frame = list(rec.samps_per_frame) if expanded else [1] * rec.n_sig
    return Parsed(
        channels=[
            Channel(values, frame_fs * k, name, unit or None)
            for values, k, name, unit in zip(
                signals, per_frame, rec.sig_name, rec.units, strict=True
            )
        ],
        comments=list(rec.comments or []),
        format="wfdb",
    )


def _damaged(head: object) -> str:
    """What to say about signal files that do not hold what their header describes."""
    files = sorted(set(getattr(head, "file_name", None) or []))
    formats = sorted(set(getattr(head, "fmt", None) or []))
    said = f"format {', '.join(formats)}, " if formats else ""
    if len(files) == 1:
        which = f"signal file {files[0]} does"
    else:  # several, or the segments of a multi-segment record
        which = f"signal files {', '.join(files)} do" if files else "its signal files do"
    return (
        f"{which} not hold what the header describes "
        f"({said}{getattr(head, 'sig_len', '?')} samples): damaged or truncated"
    )


def _lines(text: str) -> list[str]:
    """Header lines without comments, blank lines or CR line ends."""
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def _header_rate(field: str) -> float:
    """The sampling rate in a record line's third field (``360``, ``250/60(0)``)."""
    text = re.split(r"[/(]", field, maxsplit=1)[0]
    try:
        fs = float(text)
    except ValueError:
        fs = math.nan
    if not (math.isfinite(fs) and fs > 0):
        raise InputError(f"WFDB header sampling rate {field!r} is not a positive number")
    return fs


def _is_wfdb_time(fields: list[str]) -> bool:
    """Whether the start fields are WFDB's ``HH:MM:SS [DD/MM/YYYY]``."""
    time_ok = bool(_WFDB_TIME.fullmatch(fields[0]))
    return time_ok and (
        len(fields) == 1 or (len(fields) == 2 and bool(_WFDB_DATE.fullmatch(fields[1])))
    )


def _clean_copy(record: Path, text: str, lines: list[str], tmp: Path) -> Path:
    """The record's header without its start time, beside links to (or copies of) its files."""
    if "/" in lines[0].split()[0]:
        raise InputError("multi-segment WFDB record with a start time wfdb cannot read")
    first = " ".join(lines[0].split()[:4])
    kept = [line for line in text.splitlines() if line.strip()]
    index = next(k for k, line in enumerate(kept) if line.split("#", 1)[0].strip())
    kept[index] = first
    (tmp / f"{record.name}.hea").write_text("\n".join(kept) + "\n", encoding="latin-1")
    for name in {line.split()[0] for line in lines[1:]}:
        src = record.parent / name
        if "/" in name or "\\" in name or not src.is_file():
            continue  # wfdb reports the missing file itself
        try:
            (tmp / name).symlink_to(src.resolve())
        except OSError:  # no symlinks here (Windows without the right): copy instead
            shutil.copyfile(src, tmp / name)
    return tmp / record.name
