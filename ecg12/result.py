"""The reconstruction result: a 12-lead record that speaks wfdb's language."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ecg12.leads import LEAD_NAMES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ecg12.writers import OutputFormat

DISCLAIMER = "estimated from Lead I; not a measured ECG and not for diagnosis on its own"
#: The first header comment of every reconstruction; ``ecg12 plot`` finds the disclaimer after it.
RECONSTRUCTED = "Reconstructed 12-lead ECG, "
#: The header comment that names the measured leads of an any-lead model's reconstruction.
MEASURED_LEADS = "measured leads: "


def record_name(source: str) -> str:
    """``<input name>_12lead`` for an input file (``array_12lead`` for an array)."""
    stem = Path(source).stem if source and not source.startswith("<") else "array"
    return f"{stem}_12lead"


@dataclass(repr=False)
class Reconstruction:
    """Twelve leads in mV (``p_signal``: samples x 12, float32, standard order) and provenance.

    A Lead I model: Lead I is the conditioned input itself; III, aVR, aVL and aVF are derived
    from I and II. An any-lead model: the ``given_leads`` are the conditioned inputs (limb
    leads completed from two or more given ones), and the limb leads are consistent with them.
    """

    p_signal: np.ndarray
    fs: float
    model: str
    model_version: str
    source: str
    input_lead: str
    input_fs: float
    input_format: str
    warnings: list[str] = field(default_factory=list)
    sig_name: list[str] = field(default_factory=lambda: list(LEAD_NAMES))
    units: list[str] = field(default_factory=lambda: ["mV"] * 12)
    #: How much overlapping model windows disagreed per lead (mV): the model's own uncertainty.
    window_spread_mv: np.ndarray | None = None
    #: Expected mean absolute error per lead (mV; the measured leads are 0) and its grade
    #: (good / fair / poor; "measured" for the leads an any-lead model was given), from the
    #: model card's calibration; None for uncalibrated models (or input sets).
    expected_error_mv: np.ndarray | None = None
    grades: list[str] | None = None
    #: The input channel is a lead other than Lead I (II, MLII, V1, ...), accepted on request.
    from_other_lead: bool = False
    #: The standard leads read from the input (standard order) and the channels they came
    #: from; a Lead I model reads Lead I only (its channel is ``input_lead``).
    input_leads: list[str] = field(default_factory=lambda: ["I"])
    input_channels: list[str] = field(default_factory=list)
    #: The leads given to an any-lead model, limb leads completed: passed through, graded
    #: "measured". None for a Lead I model.
    given_leads: list[str] | None = None

    @property
    def duration_s(self) -> float:
        return self.p_signal.shape[0] / self.fs

    @property
    def n_sig(self) -> int:
        """Number of leads (12), as ``wfdb.Record.n_sig`` names it."""
        return int(self.p_signal.shape[1])

    @property
    def sig_len(self) -> int:
        """Samples per lead, as ``wfdb.Record.sig_len`` names it."""
        return int(self.p_signal.shape[0])

    def __repr__(self) -> str:
        """One line: a result holds tens of thousands of samples, which a REPL need not print."""
        warned = f", {len(self.warnings)} warning(s)" if self.warnings else ""
        return (
            f"Reconstruction({self.source!r}, model {self.model} {self.model_version}: "
            f"{self.n_sig} leads x {self.sig_len} samples at {self.fs:g} Hz, "
            f"{self.duration_s:.1f} s{warned})"
        )

    def to_wfdb(self) -> Any:
        """A ``wfdb.Record`` of the result (mV, format 16 at 1000 units per mV, the header
        comments), for code that already works with wfdb; ``.wrsamp()`` writes the files
        :meth:`write` writes."""
        import wfdb

        from ecg12.writers import WFDB_GAIN_PER_MV

        record = wfdb.Record(
            record_name=self.record_name,
            n_sig=self.n_sig,
            fs=self.fs,
            sig_len=self.sig_len,
            p_signal=np.asarray(self.p_signal, dtype=np.float64),
            sig_name=list(self.sig_name),
            units=list(self.units),
            fmt=["16"] * self.n_sig,
            adc_gain=[WFDB_GAIN_PER_MV] * self.n_sig,
            baseline=[0] * self.n_sig,
            comments=self.comments,
        )
        record.set_d_features(do_adc=True)  # the digital samples, as wfdb.wrsamp makes them
        record.set_defaults()  # checksums and initial values
        return record

    @property
    def record_name(self) -> str:
        """``<input name>_12lead``, the stem every writer uses."""
        return record_name(self.source)

    @property
    def measured_leads(self) -> list[str]:
        """The leads that are the input itself: Lead I for a Lead I model, else the given."""
        return ["I"] if self.given_leads is None else list(self.given_leads)

    @property
    def disclaimer(self) -> str:
        """What this record is not; names the input leads, or the input channel when a Lead I
        model took another lead."""
        if self.from_other_lead:
            return (
                f"estimated from channel {self.input_lead}, not Lead I (the model was trained on "
                "Lead I); not a measured ECG and not for diagnosis on its own"
            )
        if self.input_leads == ["I"]:
            return DISCLAIMER
        return (
            f"estimated from leads {', '.join(self.input_leads)}; not a measured ECG and not "
            "for diagnosis on its own"
        )

    @property
    def comments(self) -> list[str]:
        """Header comments: what this record is, where it came from, what to watch for."""
        from ecg12 import __version__

        return [
            f"{RECONSTRUCTED}{self.disclaimer}.",
            f"ecg12 {__version__}, model {self.model} {self.model_version}",
            *self._input_lines(),
            *self._trust_lines(),
            *(f"warning: {w}" for w in self.warnings),
        ]

    def _input_lines(self) -> list[str]:
        """The input, and for an any-lead model which leads were measured and which estimated."""
        end = f"{self.input_fs:g} Hz, {self.input_format}"
        if self.given_leads is None:
            return [f"input: {self.source}, lead {self.input_lead}, {end}"]
        named = ", ".join(
            lead if channel == lead else f"{lead} (channel {channel})"
            for lead, channel in zip(self.input_leads, self.input_channels, strict=True)
        )
        estimated = [n for n in self.sig_name if n not in self.given_leads]
        return [
            f"input: {self.source}, leads {named}, {end}",
            f"{MEASURED_LEADS}{', '.join(self.given_leads)}; estimated: "
            f"{', '.join(estimated) or 'none'}",
        ]

    def _trust_lines(self) -> list[str]:
        if self.expected_error_mv is None or self.grades is None:
            return []
        per_lead = ", ".join(
            f"{n} {e:.3f} {g}"
            for n, e, g in zip(self.sig_name, self.expected_error_mv, self.grades, strict=True)
        )
        return [f"expected error (mV) and grade per lead: {per_lead}"]

    def trust_table(self) -> list[tuple[str, float, str]]:
        """(lead, expected error in mV, grade) rows; empty for an uncalibrated model."""
        if self.expected_error_mv is None or self.grades is None:
            return []
        return list(zip(self.sig_name, self.expected_error_mv.tolist(), self.grades, strict=True))

    def lead(self, name: str) -> np.ndarray:
        """One lead by name (case-insensitive), in mV."""
        from ecg12.leads import lead_index

        return self.p_signal[:, lead_index(name)]

    def write(
        self,
        outdir: str | Path,
        fmt: OutputFormat = "wfdb",
        overwrite: bool = False,
        name: str | None = None,
        plot: bool = False,
        area: Path | None = None,
    ) -> list[Path]:
        """Write ``<outdir>/<name or input name_12lead>`` as WFDB (default), CSV or NPZ.

        The per-lead expected error goes into the WFDB header comments, the NPZ keys
        ``expected_error_mv`` and ``grades``, or a side-car ``<name>_trust.csv`` next to a CSV.
        ``plot`` adds the printout ``<name>.png``. The files appear together or not at all, and
        none replaces an existing file unless ``overwrite``. ``area``: a run's
        :class:`~ecg12.outputs.Staging` folder in ``outdir`` to write them in first.
        """
        from ecg12.errors import InputError
        from ecg12.outputs import staged
        from ecg12.writers import record_files, write_files, write_text

        if name is not None and (
            not isinstance(name, str) or name in {"", ".", ".."} or re.search(r"[/\\]", name)
        ):
            raise InputError(f"name must be a file name without folders, not {name!r:.60}")
        record = record_files(Path(outdir) / (name or self.record_name), fmt)
        folder, base = record[0].parent, record[0].stem
        table = self.trust_table()
        sidecar = f"{base}_trust.csv" if table and fmt == "csv" else None
        picture = f"{base}.png" if plot else None
        names = [p.name for p in record] + [n for n in (sidecar, picture) if n]
        extra = None
        if table and fmt == "npz":
            extra = {
                "expected_error_mv": np.asarray(self.expected_error_mv, dtype=np.float32),
                "grades": np.array(self.grades, dtype=str),
            }
        with staged(folder, names, overwrite, area) as tmp:
            write_files(
                self.p_signal,
                self.fs,
                self.sig_name,
                self.units,
                self.comments,
                tmp / record[0].name,
                fmt,
                extra,
            )
            if sidecar:
                rows = "".join(f"{n},{e:.4f},{g}\n" for n, e, g in table)
                write_text(tmp / sidecar, "lead,expected_error_mv,grade\n" + rows)
            if picture:
                from ecg12.plot import save_figure

                # overwrite: our own staging folder holds nothing to keep
                save_figure(self.plot(), tmp / picture, overwrite=True)
        return [folder / n for n in names]

    def plot(
        self,
        path: str | Path | None = None,
        compare: np.ndarray | str | Path | None = None,
        compare_fs: float | None = None,
        overwrite: bool = False,
        **kw: Any,
    ) -> Figure:
        """The clinical 12-lead printout (25 mm/s, 10 mm/mV), optionally over a real ECG.

        The disclaimer, the grades, the measured leads of an any-lead model and the input
        warnings are always printed on it. ``compare``
        is a 12-lead array (with ``compare_fs``) or any record ``ecg12 plot --compare`` takes.
        Like :meth:`write`, an existing ``path`` is kept unless ``overwrite``.
        """
        from ecg12.plot import plot_12lead, read_12lead

        if isinstance(compare, (str, Path)):
            compare, compare_fs = read_12lead(compare)
        kw.setdefault("title", self.record_name)
        kw.setdefault("grades", self.grades)
        kw.setdefault("measured", self.given_leads)
        return plot_12lead(
            self.p_signal,
            self.fs,
            path,
            compare=compare,
            compare_fs=compare_fs,
            disclaimer=self.disclaimer,
            notes=[f"warning: {w}" for w in self.warnings],
            overwrite=overwrite,
            **kw,
        )
