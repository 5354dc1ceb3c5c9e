"""The statistics the studies share: k-fold splits, AUROC with bootstrap intervals, and the
Wilson interval of a proportion. Plain numpy, so each is checked against a known answer."""

from __future__ import annotations

import math

import numpy as np

#: The normal quantile of a two-sided 95 % interval.
Z95 = 1.959963984540054


def kfold(n: int, k: int, seed: int | None = None) -> np.ndarray:
    """The held-out fold (0..k-1) of each of ``n`` rows: row i mod k (rows in a meaningful
    order, e.g. ecg_id), or with ``seed`` a random split of the same sizes."""
    if seed is None:
        return np.arange(n) % k
    return np.random.default_rng(seed).permutation(n) % k


def average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks with ties sharing their mean rank, as the rank-sum AUROC needs."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    first = np.r_[True, xs[1:] != xs[:-1]]
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], len(x)]
    ranks = np.empty(len(x))
    ranks[order] = ((starts + 1 + ends) / 2)[np.cumsum(first) - 1]
    return ranks


def auroc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve by the Mann-Whitney rank formula (ties count one half).

    NaN when ``y`` holds only one class, where the area is undefined.
    """
    y = np.asarray(y, dtype=bool)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = average_ranks(np.asarray(score, dtype=np.float64))
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def macro_auroc(y: np.ndarray, scores: np.ndarray) -> tuple[float, list[float]]:
    """Mean of the per-class AUROCs of (records, classes) labels and scores, and the per-class."""
    per_class = [auroc(y[:, j], scores[:, j]) for j in range(y.shape[1])]
    return float(np.mean(per_class)), per_class


def bootstrap_macro(
    y: np.ndarray,
    scores: dict[str, np.ndarray],
    pairs: list[tuple[str, str]],
    n_boot: int,
    seed: int,
) -> dict:
    """Percentile 95 % CIs of each input's macro AUROC and of paired differences between inputs.

    Records are resampled with replacement, the same draw for every input, so differences are
    paired. Draws in which a class has no positive (or no negative) record are redrawn.
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    pos = y.sum(axis=0)
    if (pos == 0).any() or (pos == n).any():  # every draw would be redrawn, for ever
        raise ValueError("a class has no positive or no negative record: AUROC is undefined")
    draws: dict[str, list[float]] = {k: [] for k in scores}
    while len(draws[next(iter(scores))]) < n_boot:
        idx = rng.integers(0, n, n)
        pos = y[idx].sum(axis=0)
        if (pos == 0).any() or (pos == n).any():
            continue
        for k, s in scores.items():
            draws[k].append(macro_auroc(y[idx], s[idx])[0])
    boot = {k: np.asarray(v) for k, v in draws.items()}
    full = {k: macro_auroc(y, s)[0] for k, s in scores.items()}

    def ci(v: np.ndarray) -> list[float]:
        return [float(q) for q in np.percentile(v, [2.5, 97.5])]

    return {
        "ci": {k: ci(v) for k, v in boot.items()},
        "differences": {
            f"{a} - {b}": {"difference": full[a] - full[b], "ci": ci(boot[a] - boot[b])}
            for a, b in pairs
        },
    }


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n: sound for small n and at 0 % or 100 %."""
    if n == 0:
        return math.nan, math.nan
    p, z2 = k / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)
