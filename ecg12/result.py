"""The reconstruction result: a 12-lead record that speaks wfdb's language."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ecg12.leads import LEAD_NAMES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DISCLAIMER = "estimated from Lead I; not a measured ECG and not for diagnosis on its own"


@dataclass
class Reconstruction:
    """Twelve leads in mV (``p_signal``: samples x 12, float32, standard order) and provenance.

    Lead I is the conditioned input itself; III, aVR, aVL and aVF are derived from I and II.
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

    @property
    def duration_s(self) -> float:
        return self.p_signal.shape[0] / self.fs

    @property
    def record_name(self) -> str:
        """``<input name>_12lead``, the stem every writer uses."""
        stem = (
            Path(self.source).stem if self.source and not self.source.startswith("<") else "array"
        )
        return f"{stem}_12lead"

    @property
    def comments(self) -> list[str]:
        """Header comments: what this record is, where it came from, what to watch for."""
        from ecg12 import __version__

        return [
            f"Reconstructed 12-lead ECG, {DISCLAIMER}.",
            f"ecg12 {__version__}, model {self.model} {self.model_version}",
            f"input: {self.source}, lead {self.input_lead}, {self.input_fs:g} Hz, "
            f"{self.input_format}",
            *(f"warning: {w}" for w in self.warnings),
        ]

    def lead(self, name: str) -> np.ndarray:
        """One lead by name (case-insensitive), in mV."""
        from ecg12.leads import lead_index

        return self.p_signal[:, lead_index(name)]

    def write(
        self,
        outdir: str | Path,
        fmt: str = "wfdb",
        overwrite: bool = False,
        name: str | None = None,
    ) -> list[Path]:
        """Write ``<outdir>/<name or input name_12lead>`` as WFDB (default), CSV or NPZ; atomic."""
        from ecg12.writers import write_record

        out = Path(outdir)
        out.mkdir(parents=True, exist_ok=True)
        return write_record(
            self.p_signal,
            self.fs,
            self.sig_name,
            self.units,
            self.comments,
            out / (name or self.record_name),
            fmt=fmt,
            overwrite=overwrite,
        )

    def plot(
        self,
        path: str | Path | None = None,
        compare: np.ndarray | None = None,
        compare_fs: float | None = None,
        **kw: Any,
    ) -> Figure:
        """The clinical 12-lead printout (25 mm/s, 10 mm/mV), optionally over a real ECG."""
        from ecg12.plot import plot_12lead

        kw.setdefault("title", f"{self.record_name}: {DISCLAIMER}")
        return plot_12lead(
            self.p_signal, self.fs, path, compare=compare, compare_fs=compare_fs, **kw
        )
