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


def crossfade_weights(window: int, stride: int) -> np.ndarray:
    """Per-sample weight of one window: a raised-cosine ramp over each overlap, flat between.

    The edges of a window see the least context and are the least reliable; ramping them down
    where a neighbour overlaps gives a seamless, smooth hand-over.
    """
    overlap = window - stride
    w = np.ones(window, dtype=np.float64)
    if overlap > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(overlap) + 0.5) / overlap)
        w[:overlap] = ramp
        w[-overlap:] = ramp[::-1]
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
    starts, weights, norm = _overlap_add(n, window, stride, lo, hi)
    if len(starts) != count:
        raise ValueError(f"{count} windows do not cover {n} samples at stride {stride}")
    weighted = pred * weights[:, None, :]  # float64, as the sum below
    acc = np.zeros((leads, hi - lo), dtype=np.float64)
    for s, w in zip(starts.tolist(), weighted, strict=True):
        a, b = max(s, lo), min(s + window, hi)
        acc[:, a - lo : b - lo] += w[:, a - s : b - s]
    return (acc / norm).T.astype(np.float32)


@lru_cache(maxsize=16)
def _overlap_add(
    n: int, window: int, stride: int, lo: int, hi: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The starts of the windows overlapping samples [lo, hi) of ``n``, each one's weights
    (windows, window) and their sum over [lo, hi): made once for records of one length."""
    starts = window_starts(n, window, stride)
    starts = starts[(starts < hi) & (starts + window > lo)]
    w = crossfade_weights(window, stride)
    weights = np.empty((len(starts), window))
    norm = np.zeros(hi - lo, dtype=np.float64)
    for k, s in enumerate(starts.tolist()):
        # The first and last windows have no neighbour on their outer side: keep full weight there.
        weights[k] = w
        if s == 0:
            weights[k, : window // 2] = 1.0
        if s == n - window:
            weights[k, window // 2 :] = 1.0
        a, b = max(s, lo), min(s + window, hi)
        norm[a - lo : b - lo] += weights[k, a - s : b - s]
    for array in (starts, weights, norm):
        array.flags.writeable = False
    return starts, weights, norm


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
