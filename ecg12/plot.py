"""Clinical 12-lead printout: 3x4 leads plus a Lead II rhythm strip on true-scale ECG paper.

Everything is laid out in millimetres of paper, so a figure printed at 100 % reads at exactly
25 mm/s and 10 mm/mV, the scale clinicians measure intervals and amplitudes with.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from ecg12.dsp import resample
from ecg12.errors import InputError, OutputExistsError
from ecg12.leads import LEAD_NAMES, lead_index, to_standard_order
from ecg12.outputs import atomic_file
from ecg12.readers import read_recording
from ecg12.result import MEASURED_LEADS, RECONSTRUCTED

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MM_PER_S = 25.0
MM_PER_MV = 10.0
MM_PER_INCH = 25.4
#: Longest stretch one printout shows, as on a standard 12-lead ECG.
MAX_SECONDS = 10.0
#: Output formats :func:`plot_12lead` can save, chosen by the path's suffix.
FORMATS = ("png", "pdf", "svg")
PNG_DPI = 200

#: Colours of the printout (also what the tests look for in the pixels).
COLOURS = MappingProxyType(
    {
        "minor": "#f4b0b0",  # 1 mm grid
        "major": "#e06060",  # 5 mm grid
        "trace": "#000000",  # the plotted record
        "compare": "#1f5fd0",  # the overlaid reference record
        "poor_shade": "#ffd0c0",  # behind a 'poor' lead (off the white-to-grid blends)
        "good": "#2ca02c",
        "fair": "#ffb000",
        "poor": "#d62728",
        "measured": "#404040",  # the tag of a lead that was measured, not estimated
    }
)

# The standard layout: each column shows the next 2.5 s of the same 10 s.
_LAYOUT = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6"))
_RHYTHM_LEAD = "II"
_GRADES = ("good", "fair", "poor")
_MEASURED = "measured"
_CAL_MM = 10.0  # room at the start of each row for the 1 mV calibration pulse
_ROW_MM = 40.0  # height of one row of paper (4 mV)
_BASELINE_MM = 17.0  # a row's 0 mV line above its bottom edge (QRS mostly points up)
_MARGIN_MM = (10.0, 10.0, 14.0, 10.0)  # left, right, top (title), bottom (footer)
_NOTE_MM = 3.5  # footer height of one note line
_FOOTER_MM = 3.5  # the scale line's height above the bottom edge (without notes)
_GRADE_LEGEND = "grade of each lead by its expected error (model card calibration), poor shaded:"
_TRUST_PREFIX = "expected error (mV) and grade per lead: "


def plot_12lead(
    p_signal: np.ndarray,
    fs: float,
    path: str | Path | None = None,
    *,
    compare: np.ndarray | None = None,
    compare_fs: float | None = None,
    title: str | None = None,
    grades: list[str] | None = None,
    labels: tuple[str, str] = ("reconstructed", "real"),
    start_s: float = 0.0,
    disclaimer: str | None = None,
    notes: list[str] | None = None,
    measured: list[str] | None = None,
    overwrite: bool = False,
) -> Figure:
    """Draw a 12-lead ECG (samples x 12, mV, :data:`~ecg12.leads.LEAD_NAMES` order) as printed.

    Layout: rows I/aVR/V1/V4, II/aVL/V2/V5, III/aVF/V3/V6, each column the next quarter of the
    same (up to) 10 s from ``start_s``, then a full-length Lead II rhythm strip. The paper is
    a 1 mm / 5 mm pink and red grid at 25 mm/s and 10 mm/mV, the figure size in inches is the
    paper size, and every row starts with a 1 mV x 0.2 s calibration pulse. A shorter record
    plots what exists on correspondingly narrower paper (rounded up to whole 5 mm squares).

    ``compare`` (a second 12-lead record, e.g. the real ECG behind a reconstruction) is drawn
    over the trace in a thinner blue line, so where the two agree the line looks blue and where
    they differ the black trace shows beside it. It is resampled to ``fs`` when ``compare_fs``
    differs; ``labels`` names the two traces in a legend.

    ``grades`` (12 of 'good'/'fair'/'poor', standard order) adds a small tag after each lead
    label: green 'good', amber 'fair', red 'poor'. A 'poor' lead's whole segment also gets a
    salmon background, so an unreliable lead cannot be read at a glance as if it were
    trustworthy. The rhythm strip carries Lead II's grade, and a legend in the footer says what
    the tags mean. ``measured`` leads (those an any-lead model was given; their grade may say
    'measured' too) get a dark 'measured' tag instead, so they cannot be mistaken for estimates.

    ``disclaimer`` is printed under the title (a reconstruction always passes its own), and
    ``notes`` (input warnings) one per line in the footer, so a printout stands alone.

    With ``path`` the figure is also saved atomically (format from the suffix: png at
    200 dpi, pdf or svg), refusing an existing file unless ``overwrite``. Non-finite samples
    leave gaps. Returns the figure.
    """
    signal = _as_leads(p_signal, "p_signal")
    if not fs > 0:
        raise ValueError(f"fs must be positive, got {fs}")
    if not 0 <= start_s < math.inf:
        raise ValueError(f"start must be a finite number of seconds >= 0, got {start_s}")
    first = round(start_s * fs)
    count = min(signal.shape[0] - first, round(MAX_SECONDS * fs))
    if count < 8:  # fewer than two samples per column
        raise ValueError(
            f"nothing to plot: record has {signal.shape[0] / fs:g} s, start_s is {start_s:g} s"
        )
    shown = signal[first : first + count]
    ref = None
    if compare is not None:
        ref = _as_leads(compare, "compare")
        if compare_fs is not None and compare_fs != fs:
            ref = resample(ref, compare_fs, fs, axis=0)
        ref = ref[first : first + count]
    grade_of = _check_grades(grades) | {name: _MEASURED for name in measured or ()}
    if path is not None:  # refuse a bad suffix or an existing file before drawing
        _output_format(Path(path))
        if not overwrite and os.path.lexists(path):
            raise OutputExistsError(path)

    notes = list(notes or [])
    fig = _draw(shown, fs, start_s, ref, title, grade_of, labels, len(notes))
    _draw_notes(fig, disclaimer, notes, grade_of)
    if path is not None:
        save_figure(fig, path, overwrite)
    return fig


def save_figure(fig: Figure, path: str | Path, overwrite: bool = False) -> Path:
    """Save ``fig`` to ``path`` whole or not at all; an existing file is kept unless
    ``overwrite``."""
    out = Path(path)
    fmt = _output_format(out)
    with atomic_file(out, overwrite) as fh:
        fig.savefig(fh, format=fmt, dpi=PNG_DPI if fmt == "png" else "figure")
    return out


@dataclass(frozen=True)
class Printout:
    """A 12-lead record to print, with what its header says about it (see :func:`read_printout`)."""

    signal: np.ndarray  # samples x 12, mV, standard order
    fs: float
    disclaimer: str | None  # set for an ecg12 reconstruction
    grades: list[str] | None
    warnings: list[str]
    measured: list[str] | None = None  # an any-lead reconstruction's given leads


def read_12lead(path: str | Path) -> tuple[np.ndarray, float]:
    """Read a 12-lead recording as (samples x 12 mV in standard order, fs).

    Any file :func:`ecg12.readers.read_recording` reads: a WFDB header, signal file (.dat/.mat)
    or bare record name, EDF, CSV. Channels are matched by name in any case (``AVR``, ``aVR``,
    ``avr``); missing limb leads are derived from I and II; extra channels (Frank leads) are
    ignored.
    """
    printout = read_printout(path)
    return printout.signal, printout.fs


def read_printout(path: str | Path) -> Printout:
    """A 12-lead record (as :func:`read_12lead`) and, for an ecg12 reconstruction, the
    disclaimer, grades and warnings its header comments carry, so a picture drawn from the
    file says what one drawn from the result says."""
    rec = read_recording(path)
    odd = [
        f"{n} ({u})"
        for n, u in zip(rec.sig_name, rec.units, strict=True)
        if u != "mV" and _is_lead(n)
    ]
    if odd:
        raise InputError(f"leads in units that are not volts: {', '.join(odd)}", source=path)
    try:
        signal = to_standard_order(rec.signal, rec.sig_name)
    except KeyError as exc:
        raise InputError(f"not a 12-lead record: {exc.args[0]}", source=path) from None
    disclaimer = next(
        (c[len(RECONSTRUCTED) :].rstrip(".") for c in rec.comments if c.startswith(RECONSTRUCTED)),
        None,
    )
    warnings = [c for c in rec.comments if c.startswith("warning: ")] if disclaimer else []
    return Printout(
        signal, rec.fs, disclaimer, _grades(rec.comments), warnings, _measured(rec.comments)
    )


def _grades(comments: list[str]) -> list[str] | None:
    """Grades from a ``expected error (mV) and grade per lead: I 0.000 good, ...`` comment."""
    line = next((c for c in comments if c.startswith(_TRUST_PREFIX)), None)
    if line is None:
        return None
    found = {}
    for item in line[len(_TRUST_PREFIX) :].split(","):
        parts = item.split()
        if len(parts) == 3 and parts[2] in (*_GRADES, _MEASURED) and _is_lead(parts[0]):
            found[lead_index(parts[0])] = parts[2]
    return [found[i] for i in range(len(LEAD_NAMES))] if len(found) == len(LEAD_NAMES) else None


def _measured(comments: list[str]) -> list[str] | None:
    """The leads a ``measured leads: II, V5; estimated: ...`` comment names."""
    line = next((c for c in comments if c.startswith(MEASURED_LEADS)), None)
    if line is None:
        return None
    names = [n.strip() for n in line[len(MEASURED_LEADS) :].split(";")[0].split(",")]
    return [LEAD_NAMES[lead_index(n)] for n in names if _is_lead(n)]


def _is_lead(name: str) -> bool:
    try:
        lead_index(name)
    except KeyError:
        return False
    return True


def _as_leads(x: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != len(LEAD_NAMES):
        raise ValueError(f"{what} must be samples x 12 leads, got shape {arr.shape}")
    return np.where(np.isfinite(arr), arr, np.nan)


def _check_grades(grades: list[str] | None) -> dict[str, str]:
    if grades is None:
        return {}
    if len(grades) != len(LEAD_NAMES):
        raise ValueError(f"grades needs one entry per lead (12), got {len(grades)}")
    bad = [g for g in grades if g not in (*_GRADES, _MEASURED)]
    if bad:
        raise ValueError(f"grades must be one of {', '.join(_GRADES)}, {_MEASURED}; got {bad[0]!r}")
    return dict(zip(LEAD_NAMES, grades, strict=True))


def _output_format(path: Path) -> str:
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InputError(
            f"unsupported plot format {path.suffix or '(none)'!r}; use .png, .pdf or .svg",
            source=path,
        )
    return fmt


def _draw(
    signal: np.ndarray,
    fs: float,
    start_s: float,
    ref: np.ndarray | None,
    title: str | None,
    grade_of: dict[str, str],
    labels: tuple[str, str],
    n_notes: int,
) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    seconds = signal.shape[0] / fs
    # Whole 5 mm squares keep the grid closed at the right edge.
    paper_w = _CAL_MM + 5.0 * math.ceil(seconds * MM_PER_S / 5.0 - 1e-9)
    paper_h = _ROW_MM * (len(_LAYOUT) + 1)
    left, right, top, bottom = _MARGIN_MM
    bottom += _NOTE_MM * n_notes  # note lines widen the footer; the paper keeps its size
    fig_w, fig_h = left + paper_w + right, bottom + paper_h + top
    fig = Figure(figsize=(fig_w / MM_PER_INCH, fig_h / MM_PER_INCH))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((left / fig_w, bottom / fig_h, paper_w / fig_w, paper_h / fig_h))
    ax.set_xlim(0.0, paper_w)
    ax.set_ylim(0.0, paper_h)
    ax.set_axis_off()
    _draw_grid(ax, paper_w, paper_h)

    n = signal.shape[0]
    t_mm = _CAL_MM + np.arange(n) / fs * MM_PER_S
    quarters = [round(c * n / 4) for c in range(5)]
    rows = [(names, quarters) for names in _LAYOUT] + [((_RHYTHM_LEAD,), [0, n])]
    for r, (names, bounds) in enumerate(rows):
        baseline = paper_h - (r + 1) * _ROW_MM + _BASELINE_MM
        _draw_calibration(ax, baseline)
        for name, i0, i1 in zip(names, bounds[:-1], bounds[1:], strict=True):
            x0, x1 = t_mm[i0], t_mm[i1 - 1]
            if i0:  # a short bar marks where one column hands over to the next lead
                ax.plot(
                    [x0, x0],
                    [baseline - 2.5, baseline + 2.5],
                    color=COLOURS["trace"],
                    lw=0.8,
                    zorder=3,
                )
            _draw_lead(ax, name, grade_of.get(name), x0, x1, baseline)
            col = lead_index(name)
            ax.plot(
                t_mm[i0:i1],
                baseline + MM_PER_MV * signal[i0:i1, col],
                color=COLOURS["trace"],
                lw=0.8,
                zorder=3,
            )
            if ref is not None and ref.shape[0] > i0:
                m = min(i1, ref.shape[0])
                ax.plot(
                    t_mm[i0:m],
                    baseline + MM_PER_MV * ref[i0:m, col],
                    color=COLOURS["compare"],
                    lw=0.7,
                    zorder=3.5,
                )

    if title:
        fig.text(
            left / fig_w, 1 - 4 / fig_h, title, ha="left", va="top", fontsize=11, fontweight="bold"
        )
    end_s = start_s + seconds
    fig.text(
        left / fig_w,
        (_FOOTER_MM + _NOTE_MM * n_notes) / fig_h,
        f"25 mm/s, 10 mm/mV    {fs:g} Hz    {start_s:g}-{end_s:g} s",
        ha="left",
        va="bottom",
        fontsize=8,
    )
    if ref is not None:
        handles = [
            Line2D([], [], color=COLOURS["trace"], lw=1.2),
            Line2D([], [], color=COLOURS["compare"], lw=1.2),
        ]
        fig.legend(
            handles,
            list(labels),
            loc="upper right",
            ncol=2,
            frameon=False,
            fontsize=8,
            bbox_to_anchor=(1 - right / fig_w, 1 - 2 / fig_h),
        )
    return fig


def _draw_notes(
    fig: Figure, disclaimer: str | None, notes: list[str], grade_of: dict[str, str]
) -> None:
    """The disclaimer under the title; notes and the grade legend in the footer (see _draw)."""
    left, right, _, _ = _MARGIN_MM
    fig_w, fig_h = (size * MM_PER_INCH for size in fig.get_size_inches())
    footer = _FOOTER_MM + _NOTE_MM * len(notes)  # the scale line's height above the bottom
    if disclaimer:
        fig.text(
            left / fig_w,
            1 - 9.5 / fig_h,
            disclaimer,
            ha="left",
            va="top",
            fontsize=8,
            color=COLOURS["poor"],
        )
    for k, note in enumerate(notes):
        y = (footer - _NOTE_MM * (k + 1)) / fig_h
        fig.text(left / fig_w, y, note, ha="left", va="bottom", fontsize=7)
    if not set(grade_of.values()) & set(_GRADES):
        return
    x = 1 - (right + 31.0) / fig_w  # three badges, 10 mm apart, end at the paper's right edge
    fig.text(x, footer / fig_h, _GRADE_LEGEND, ha="right", va="bottom", fontsize=7)
    for k, grade in enumerate(_GRADES):
        fig.text(
            x + (2.0 + 10.0 * k) / fig_w,
            footer / fig_h,
            grade,
            ha="left",
            va="bottom",
            fontsize=6,
            color="black" if grade == "fair" else "white",
            bbox={"boxstyle": "round,pad=0.25", "facecolor": COLOURS[grade], "edgecolor": "none"},
        )


def _draw_grid(ax: Axes, width: float, height: float) -> None:
    """1 mm minor and 5 mm major lines, as on ECG paper."""
    from matplotlib.collections import LineCollection

    lines: dict[bool, list] = {False: [], True: []}
    for k in range(int(width) + 1):
        lines[k % 5 == 0].append(((k, 0.0), (k, height)))
    for k in range(int(height) + 1):
        lines[k % 5 == 0].append(((0.0, k), (width, k)))
    ax.add_collection(
        LineCollection(lines[False], colors=COLOURS["minor"], linewidths=0.4, zorder=1)
    )
    ax.add_collection(
        LineCollection(lines[True], colors=COLOURS["major"], linewidths=0.8, zorder=1.1)
    )


def _draw_calibration(ax: Axes, baseline: float) -> None:
    """The 1 mV x 0.2 s standardisation pulse: 10 mm tall, 5 mm wide."""
    x = np.array([0.0, 2.5, 2.5, 7.5, 7.5, _CAL_MM])
    y = baseline + MM_PER_MV * np.array([0.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    ax.plot(x, y, color=COLOURS["trace"], lw=0.8, zorder=3)


def _draw_lead(
    ax: Axes, name: str, grade: str | None, x0: float, x1: float, baseline: float
) -> None:
    """Lead label, optional grade tag, and the salmon background of a 'poor' lead."""
    from matplotlib.patches import Rectangle

    row_bottom = baseline - _BASELINE_MM
    label = ax.text(
        x0 + 1.0,
        row_bottom + _ROW_MM - 2.0,
        name,
        ha="left",
        va="top",
        fontsize=9,
        fontweight="bold",
        zorder=4,
    )
    if grade is None:
        return
    if grade == "poor":
        ax.add_patch(
            Rectangle(
                (x0, row_bottom),
                x1 - x0,
                _ROW_MM,
                facecolor=COLOURS["poor_shade"],
                edgecolor="none",
                zorder=0.5,
            )
        )
    ax.annotate(
        grade,
        xy=(1.0, 0.5),
        xycoords=label,
        xytext=(4, 0),
        textcoords="offset points",
        ha="left",
        va="center",
        fontsize=6,
        color="black" if grade == "fair" else "white",
        zorder=4,
        bbox={"boxstyle": "round,pad=0.25", "facecolor": COLOURS[grade], "edgecolor": "none"},
    )
