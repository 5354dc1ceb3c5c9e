"""Reconstruct a recording of any length in bounded memory, block by block.

The whole-record pipeline holds every window's prediction and the twelve leads at the output
rate: about 1.2 GB per hour of input. Here the record is cut into blocks at the model rate. Each
block is conditioned from a slice of the input with a margin on both sides long enough for the
filters to forget the cut (:func:`margin`), windowed on the record's own window grid, run,
stitched and resampled, so it equals the same samples of the whole-record result to float
rounding. Quality checks and trust run per segment of up to :data:`SEGMENT_S` (the whole record
when it is shorter, so a short record gets exactly what the whole-record pipeline gives).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ecg12.dsp import settle_samples
from ecg12.inference import finish
from ecg12.leads import LEAD_NAMES, complete_mask, lead_mask, place_leads
from ecg12.pipeline import calibration, given_leads, make_result, to_rate, where
from ecg12.preprocess import PreprocessSpec, preprocess
from ecg12.result import Reconstruction, record_name
from ecg12.sources import LeadSource
from ecg12.trust import CALIBRATION_FS, Calibration
from ecg12.windows import spread_sums, stitch, window_starts

if TYPE_CHECKING:
    from ecg12.model import Model

#: Model-rate seconds per block: ~300 windows, a few tens of MB in flight.
BLOCK_S = 300.0
#: Longest stretch checked for quality and graded for trust as one piece (~90 MB of output
#: at 500 Hz); records up to this long are checked and graded whole.
SEGMENT_S = 1800.0
#: Windows per model call: onnxruntime's arena grows to ~1 GB at 256 (EKGAN, CPU) but
#: ~0.3 GB at 32, at about the same speed per window.
BATCH = 32


def margin(fs_in: float, spec: PreprocessSpec, notch_hz: float | None) -> int:
    """Input samples to read beyond a block on each side so that its conditioning matches the
    whole record's: the filters' settling (:func:`ecg12.dsp.settle_samples`) plus the
    resampler's reach."""
    decay = settle_samples(spec.fs, spec.highpass_hz, spec.lowpass_hz, spec.filter_order, notch_hz)
    return math.ceil(decay * fs_in / spec.fs) + reach(fs_in, spec.fs)


def reach(fs_from: float, fs_to: float) -> int:
    """Samples (at ``fs_from``) on each side that one output sample of ``resample`` depends on."""
    ratio = Fraction(fs_to / fs_from).limit_denominator(1000)
    if ratio == 1:
        return 0
    return math.ceil(10 * max(ratio.numerator, ratio.denominator) / ratio.numerator) + 1


def _ratio(fs_from: float, fs_to: float) -> tuple[int, int]:
    r = Fraction(fs_to / fs_from).limit_denominator(1000)
    return r.numerator, r.denominator


def _cuts(lo: int, hi: int, length: int, align: int) -> list[int]:
    """Boundaries cutting [lo, hi) into equal pieces of at most ``length``, on multiples of
    ``align`` (but the ends)."""
    count = max(1, math.ceil((hi - lo) / length))
    inner = [(lo + round(k * (hi - lo) / count)) // align * align for k in range(1, count)]
    return [lo, *sorted(set(c for c in inner if lo < c < hi)), hi]


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Stream:
    """One recording reconstructed block by block: iterate for (samples, 12) float32 mV blocks.

    Once iterated, :attr:`result` holds everything but the signal (warnings, trust, comments)
    and :attr:`sig_len` the number of samples yielded; :meth:`write` does both for WFDB.
    """

    def __init__(
        self,
        model: Model,
        lead: LeadSource,
        rate: float,
        notch_hz: float | None = None,
        block_s: float = BLOCK_S,
        segment_s: float = SEGMENT_S,
    ) -> None:
        from ecg12.errors import InputError

        spec = model.spec
        if lead.any_lead != (model.inputs == "any"):
            raise ValueError(f"{lead.source} was not opened for model {model.name}'s inputs")
        self.model, self.lead, self.rate, self.notch_hz = model, lead, rate, notch_hz
        self.up, self.down = _ratio(lead.fs, spec.fs)
        self.n_model = math.ceil(lead.n * self.up / self.down)
        self.min_samples = math.ceil(spec.window_seconds * lead.fs)
        if lead.n < self.min_samples:
            need = spec.window_seconds
            raise InputError(f"too short: {lead.n / lead.fs:.2f} s, need at least {need:.2f} s")
        self.starts = window_starts(self.n_model, spec.window, spec.stride)
        self.margin = margin(lead.fs, spec, notch_hz)
        self.rates = [rate] if rate == CALIBRATION_FS else [rate, CALIBRATION_FS]
        self.reach = max(reach(spec.fs, r) for r in self.rates)
        self.align = math.lcm(*(_ratio(spec.fs, r)[1] for r in self.rates))
        least = 4 * spec.window + 2 * self.reach
        self.segment = max(int(segment_s * spec.fs), least)
        self.block = min(max(int(block_s * spec.fs), least), self.segment)
        self.sig_len = 0
        self._result: Reconstruction | None = None
        self._lead = lead  # the usable leads, once checked
        self._present: np.ndarray | None = None  # their mask, for an any-lead model

    @property
    def result(self) -> Reconstruction:
        """The record's provenance, warnings and trust (``p_signal`` has no rows: it streamed)."""
        if self._result is None:
            raise RuntimeError("iterate over the stream before asking for its result")
        return self._result

    def __iter__(self) -> Iterator[np.ndarray]:
        self.sig_len = 0
        segments = _cuts(0, self.n_model, self.segment, self.align)
        spans = [self._span(lo, hi, len(segments) == 2) for lo, hi in pairwise(segments)]
        warnings = self._check(spans)
        given = given_leads(self._present)
        trust, warnings = calibration(self.model.card, given, warnings)
        total, count = np.zeros(12), 0
        graded: list[tuple[int, np.ndarray, np.ndarray]] = []  # (samples, expected, amplitude)
        for lo, hi in pairwise(segments):
            calib, seg_total, seg_count = [], np.zeros(12), 0
            for p, q in pairwise(_cuts(lo, hi, self.block, self.align)):
                outs, t, c = self._block(p, q)
                seg_total, seg_count = seg_total + t, seg_count + c
                self.sig_len += len(outs[0])
                yield outs[0]
                calib.append(outs[-1])
            total, count = total + seg_total, count + seg_count
            if trust is not None:
                leads = np.concatenate(calib)
                spread = self._spread(seg_total, seg_count)
                expected, amp = trust.assess(leads, CALIBRATION_FS, spread)
                graded.append((hi - lo, expected, amp))
        self._result = self._summary(warnings, self._spread(total, count), graded, trust, given)

    def _span(self, lo: int, hi: int, whole: bool) -> tuple[int, int, str]:
        """Input samples [a, b) of model-rate samples [lo, hi), and how messages name them."""
        lead = self.lead
        a, b = (min(lead.n, k * self.down // self.up) for k in (lo, hi))
        b = lead.n if hi == self.n_model else b
        return a, b, "" if whole else f" [{_clock(a / lead.fs)}-{_clock(b / lead.fs)}]"

    def _check(self, spans: list[tuple[int, int, str]]) -> list[str]:
        """Check every segment of every lead before anything is yielded; an unusable lead is
        left out of the whole record (unless required: then an error). Returns the notes and
        warnings, and settles the usable leads and their mask."""
        from ecg12.quality import check_leads

        lead, warnings = self.lead, list(self.lead.notes)
        for a, b, span in spans:
            least = min(b - a, self.min_samples)
            found = check_leads(lead.read(a, b), lead.fs, where(lead, span), least, lead.required)
            lead = lead.keep(found[1])
            warnings += found[2]
        self._lead = lead
        if lead.any_lead:
            self._present = complete_mask(lead_mask(lead.leads))
        return warnings

    def _spread(self, total: np.ndarray, count: int) -> np.ndarray:
        mean = total / count if count else total
        return (mean * self.model.spec.scale_mv).astype(np.float32)

    def _block(self, p: int, q: int) -> tuple[list[np.ndarray], np.ndarray, int]:
        """Model-rate samples [p, q) at each of :attr:`rates`, and their windows' spread sums."""
        spec, starts = self.model.spec, self.starts
        lo, hi = (
            max(0, (p - self.reach) // self.align * self.align),
            min(self.n_model, q + self.reach),
        )
        mine = starts[(starts < hi) & (starts + spec.window > lo)]
        c0, c1 = int(mine[0]), int(mine[-1]) + spec.window
        cond = self._conditioned(c0, c1)
        windows = np.lib.stride_tricks.sliding_window_view(cond, spec.window, axis=0)[mine - c0]
        pred = np.concatenate(
            [self._predict(windows[k : k + BATCH]) for k in range(0, len(windows), BATCH)]
        )
        owned = np.flatnonzero((mine >= p) & (mine < q))
        total, count = np.zeros(12), 0
        if owned.size:
            first = max(int(owned[0]) - 1, 0)
            total, count = spread_sums(pred[first : owned[-1] + 1], mine[first : owned[-1] + 1])
        leads = stitch(pred, self.n_model, spec.stride, span=(lo, hi))
        mv = finish(leads, cond[lo - c0 : hi - c0], spec, self._present)
        outs = []
        for rate in self.rates:
            up, down = _ratio(spec.fs, rate)
            end = math.ceil(self.n_model * up / down) if q == self.n_model else q * up // down
            at_rate = to_rate(mv, spec.fs, rate)
            outs.append(at_rate[p * up // down - lo * up // down : end - lo * up // down])
        return [o.astype(np.float32) for o in outs], total, count

    def _predict(self, windows: np.ndarray) -> np.ndarray:
        if self._present is None:
            return self.model.predict(windows)
        return self.model.predict(windows, np.broadcast_to(self._present, (len(windows), 12)))

    def _conditioned(self, lo: int, hi: int) -> np.ndarray:
        """Conditioned samples [lo, hi) at the model rate, from an input slice with margins:
        Lead I (samples,), or the given leads (samples, 12) of an any-lead model."""
        up, down, lead = self.up, self.down, self._lead
        i0 = max(0, lo * down // up - self.margin) // down * down
        i1 = min(lead.n, -(-hi * down // up) + self.margin)
        x = np.array(lead.read(i0, i1), dtype=np.float64)  # a copy: gaps are filled in it
        idx = np.arange(len(x))
        for column in x.T:  # as quality.check_lead repairs gaps (it has refused long ones)
            gaps = np.isnan(column)
            if gaps.any():
                column[gaps] = np.interp(idx[gaps], idx[~gaps], column[~gaps])
        offset = i0 // down * up
        if not lead.any_lead:
            y = preprocess(x[:, 0], lead.fs, self.model.spec, notch_hz=self.notch_hz)
            return y[lo - offset : hi - offset]
        y = preprocess(x, lead.fs, self.model.spec, notch_hz=self.notch_hz)
        return place_leads(y[lo - offset : hi - offset], lead.leads)[0]

    def _summary(
        self,
        warnings: list[str],
        spread: np.ndarray,
        graded: list[tuple[int, np.ndarray, np.ndarray]],
        trust: Calibration | None,
        given: list[str] | None,
    ) -> Reconstruction:
        expected = grades = None
        if trust is not None and graded:
            weights = np.array([g[0] for g in graded], dtype=float)
            expected = np.average([g[1] for g in graded], axis=0, weights=weights)
            amp = np.average([g[2] for g in graded], axis=0, weights=weights)
            grades = trust.grades(expected, amp)
        empty = np.empty((0, len(LEAD_NAMES)), dtype=np.float32)
        card = self.model.card
        return make_result(
            card, self._lead, empty, self.rate, warnings, spread, expected, grades, given
        )

    def write(
        self,
        outdir: str | Path,
        name: str | None = None,
        overwrite: bool = False,
        area: Path | None = None,
    ) -> list[Path]:
        """Write the record as WFDB block by block (all files or none); returns the paths.
        ``area``: a run's :class:`~ecg12.outputs.Staging` folder to write them in first."""
        from ecg12.writers import open_wfdb

        stem = Path(outdir) / (name or record_name(self.lead.source))
        with open_wfdb(stem, self.rate, list(LEAD_NAMES), ["mV"] * 12, overwrite, area) as out:
            for block in self:
                out.write(block)
            out.comments = self.result.comments
        return out.targets
