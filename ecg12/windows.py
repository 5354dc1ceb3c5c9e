"""Cut a long signal into model windows and join the predictions without seams."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def window_starts(n: int, window: int, stride: int) -> np.ndarray:
    """Start indices covering ``n`` samples; the last window is aligned to the end."""
    if n < window:
        raise ValueError(f"signal of {n} samples is shorter than one window ({window})")
    starts = list(range(0, n - window + 1, stride))
    if starts[-1] != n - window:
        starts.append(n - window)
    return np.asarray(starts, dtype=np.int64)


def split(x: np.ndarray, window: int, stride: int) -> np.ndarray:
    """(n,) -> (windows, window), or (n, leads) -> (windows, leads, window), overlapping by
    ``window - stride`` samples."""
    starts = window_starts(len(x), window, stride)
    windows = np.stack([x[s : s + window] for s in starts]).astype(np.float32, copy=False)
    return windows if x.ndim == 1 else np.ascontiguousarray(np.moveaxis(windows, 1, -1))


@lru_cache(maxsize=8)
def crossfade_weights(window: int, stride: int) -> np.ndarray:
    """Per-sample weight of one window (read-only): a raised-cosine ramp over each overlap, flat
    between.

    The edges of a window see the least context and are the least reliable; ramping them down
    where a neighbour overlaps gives a seamless, smooth hand-over.
    """
    overlap = window - stride
    w = np.ones(window, dtype=np.float64)
    if overlap > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(overlap) + 0.5) / overlap)
        w[:overlap] = ramp
        w[-overlap:] = ramp[::-1]
    w.flags.writeable = False
    return w


def stitch(
    pred: np.ndarray, n: int, stride: int, span: tuple[int, int] | None = None
) -> np.ndarray:
    """(windows, leads, window) predictions -> (n, leads), cross-faded where windows overlap.

    With ``span`` = (lo, hi), ``pred`` holds only the windows that overlap samples [lo, hi) of
    the ``n``-sample signal, and those samples come back: a long record is stitched in pieces,
    each equal to the same samples stitched whole.
    """
    count, leads, window = pred.shape
    lo, hi = span or (0, n)
    if span is None:
        parts, norm = _whole_plan(n, window, stride)
    else:
        parts, norm = _stitch_plan(n, window, stride, lo, hi)
    if len(parts) != count:
        raise ValueError(f"{count} windows do not cover {n} samples at stride {stride}")
    acc = np.zeros((leads, hi - lo), dtype=np.float64)
    for p, (first, last, into, weights) in zip(pred, parts, strict=True):
        acc[:, into : into + last - first] += p[:, first:last] * weights  # float64, as norm
    return (acc / norm).T.astype(np.float32)


_StitchPlan = tuple[list[tuple[int, int, int, np.ndarray]], np.ndarray]


@lru_cache(maxsize=8)
def _whole_plan(n: int, window: int, stride: int) -> _StitchPlan:
    """:func:`_stitch_plan` of a whole ``n``-sample signal: the same for every record of that
    length, so made once. (A long record's spans are each stitched once: theirs are not kept.)"""
    return _stitch_plan(n, window, stride, 0, n)


def _stitch_plan(n: int, window: int, stride: int, lo: int, hi: int) -> _StitchPlan:
    """Where each window overlapping samples [lo, hi) goes: its samples [first, last), placed
    at ``into`` of the span, and their weights (read-only); and the span's summed weights."""
    starts = window_starts(n, window, stride)
    starts = starts[(starts < hi) & (starts + window > lo)].tolist()
    w = crossfade_weights(window, stride)
    parts, norm = [], np.zeros(hi - lo, dtype=np.float64)
    for s in starts:
        a, b = max(s, lo), min(s + window, hi)
        weights = _window_weights(w, s, n)[a - s : b - s]
        weights.flags.writeable = False
        norm[a - lo : b - lo] += weights
        parts.append((a - s, b - s, a - lo, weights))
    norm.flags.writeable = False
    return parts, norm


def _window_weights(w: np.ndarray, start: int, n: int) -> np.ndarray:
    """The cross-fade weights ``w`` of the window at ``start`` of ``n`` samples: the first and
    last windows have no neighbour on their outer side, so they keep full weight there."""
    if start != 0 and start != n - len(w):
        return w
    out = w.copy()
    if start == 0:
        out[: len(w) // 2] = 1.0
    if start == n - len(w):
        out[len(w) // 2 :] = 1.0
    return out


def spread_sums(pred: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, int]:
    """Summed absolute difference per lead, and samples compared, of neighbouring windows where
    they overlap (``starts`` are the windows' start indices, in order)."""
    count, leads, window = pred.shape
    total, samples = np.zeros(leads), 0
    for a in range(count - 1):
        lo, hi = starts[a + 1], starts[a] + window
        if hi <= lo:
            continue
        left = pred[a][:, lo - starts[a] : hi - starts[a]]
        right = pred[a + 1][:, : hi - lo]
        total += np.abs(left - right).sum(axis=1)
        samples += int(hi - lo)
    return total, samples


def overlap_spread(pred: np.ndarray, n: int, stride: int) -> np.ndarray:
    """Mean absolute difference per lead between neighbouring windows where they overlap.

    Where the model is sure of a lead, windows agree however the signal was cut; their
    disagreement is a free two-member ensemble and measures the model's own uncertainty.
    (windows, leads, window) -> (leads,); zeros when a single window covers the signal.
    """
    total, samples = spread_sums(pred, window_starts(n, pred.shape[2], stride))
    return total / samples if samples else total
