"""How much of each patient's precordial amplitude can Lead I tell? A ceiling study.

Why: our reconstruction networks reproduce per-patient precordial amplitudes poorly. Per record
and lead, amplitude = p99 - p1 of the 0.5-40 Hz signal (:func:`ecg12.dsp.amplitude` after
:func:`training.metrics.eval_band`); across fold-9 records the R^2 of reconstructed-on-real
amplitude, averaged over V1-V6, is about 0.21 (slope about 0.29), against targets of R^2 >= 0.35
and slope >= 0.5. Is that set by the information in Lead I or by the models, and would more data
help?

What: simple predictors of each non-Lead-I lead's log amplitude from features of the band-passed
Lead I only (:data:`FEATURES`: percentiles, spread, shape moments, band powers, heart rate and
rhythm, and a 35-point median beat), fitted on PTB-XL folds 1-8 and scored on fold 9 with the
project's own :func:`training.metrics.agreement` (slope and R^2 of predicted-on-real amplitude,
in mV). Fold 10 is never read.

- ``ols_log_amp_i``: ordinary least squares on log Lead I amplitude alone;
- ``ridge``: ridge on all features, penalty chosen per lead by 5-fold CV inside folds 1-8;
- ``ridge_rff``: ridge on the features plus random Fourier features (a little non-linearity),
  kernel width and penalty chosen by the same CV;
- ``<best>_spread``: the CV-best predictor with its log predictions stretched about the training
  mean so their spread matches the real one (factor from out-of-fold predictions in folds 1-8).
  A least-squares predictor shrinks towards the mean, so its slope is about its R^2; stretching
  trades a larger error for a slope of about sqrt(R^2) and leaves R^2 (nearly) unchanged.

Then a learning curve: the CV-best predictor refitted (CV included) on random 25 %, 50 % and
100 % of the training records, 3 seeds each, scored on fold 9.

Reading the numbers: each R^2 is a LOWER bound on what Lead I can tell about a lead's amplitude:
a network sees the whole waveform and could extract more than these features do. It is also the
simple baseline our networks should at least match. If the networks fall short of it, the gap is
the models'; if the learning curve is still rising at 100 %, more data would lift the ceiling.

    python -m training.amplitude_ceiling [--cache PATH] [--json OUT]
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import signal as sps
from scipy import stats

from ecg12.dsp import amplitude, r_peaks
from ecg12.leads import LEAD_NAMES
from training import harness
from training.data import DEFAULT_CACHE, TEST_FOLD, TRAIN_FOLDS, VALID_FOLD, Cache
from training.metrics import PRECORDIAL, RECONSTRUCTED, agreement, eval_band
from training.stats import kfold

TARGETS = RECONSTRUCTED  # the 11 leads a reconstruction draws; V1-V6 are the headline
BANDS = ((0.5, 3.0), (3.0, 8.0), (8.0, 15.0), (15.0, 25.0), (25.0, 40.0))
BEAT_WINDOW_S = (-0.25, 0.45)  # around each R peak
BEAT_POINTS = 35
ALPHAS = tuple(10.0 ** np.arange(-2.0, 5.01, 0.5))
RFF_WIDTHS = (0.25, 1.0, 4.0)  # kernel gamma x number of features
RFF_FEATURES = 600
CV_FOLDS = 5
#: Of folds 1-8: 1/16 (about 1,100 records) up to all 17,415 of the full PTB-XL (500 + 100 Hz).
FRACTIONS = (0.0625, 0.125, 0.25, 0.5, 1.0)
SEEDS = (0, 1, 2)
_EPS_MV = 1e-3

FEATURES = (
    "p1",
    "p99",
    "amplitude",
    "log_amplitude",
    "log_p99",
    "log_minus_p1",
    "p99_share",  # p99 / amplitude: how upright the complex is
    "std",
    "log_std",
    "skew",
    "kurtosis",
    *(f"power_{lo:g}_{hi:g}hz" for lo, hi in BANDS),
    "log_power",
    "heart_rate",
    "log_heart_rate",
    "rr_cv",  # RR-interval coefficient of variation (irregular rhythms)
    "beat_max",
    "beat_min",
    "log_beat_amplitude",
    *(f"beat_{i:02d}" for i in range(BEAT_POINTS)),
)


def lead_i_features(lead_i: np.ndarray, fs: float) -> np.ndarray:
    """Band-passed (0.5-40 Hz) Lead I of one record, (samples,) mV -> (len(FEATURES),) floats.

    The median beat is the median over beats (aligned on :func:`ecg12.dsp.r_peaks`) in
    :data:`BEAT_WINDOW_S`, averaged into :data:`BEAT_POINTS` equal bins; zero without a full beat.
    """
    x = np.asarray(lead_i, dtype=np.float64)
    p1, p99 = np.percentile(x, [1, 99])
    amp = max(p99 - p1, _EPS_MV)
    std = max(float(x.std()), _EPS_MV)
    f, power = sps.welch(x, fs=fs, nperseg=min(x.size, int(4 * fs)))
    in_band = (f >= BANDS[0][0]) & (f < BANDS[-1][1])
    total = max(float(power[in_band].sum()), 1e-12)
    shares = [float(power[(f >= lo) & (f < hi)].sum()) / total for lo, hi in BANDS]

    peaks = r_peaks(x, fs)
    hr = 60.0 * max(len(peaks), 1) * fs / len(x)
    rr = np.diff(peaks)
    rr_cv = float(rr.std() / rr.mean()) if len(rr) >= 2 else 0.0
    pre, post = int(round(-BEAT_WINDOW_S[0] * fs)), int(round(BEAT_WINDOW_S[1] * fs))
    starts = [p - pre for p in peaks if p - pre >= 0 and p + post <= len(x)]
    if starts:
        beat = np.median(np.stack([x[s : s + pre + post] for s in starts]), axis=0)
        edges = np.linspace(0, pre + post, BEAT_POINTS + 1).round().astype(int)
        binned = np.add.reduceat(beat, edges[:-1]) / np.diff(edges)
    else:
        beat, binned = np.zeros(1), np.zeros(BEAT_POINTS)

    out = np.array(
        [
            p1,
            p99,
            amp,
            np.log(amp),
            np.log(max(p99, _EPS_MV)),
            np.log(max(-p1, _EPS_MV)),
            p99 / amp,
            std,
            np.log(std),
            stats.skew(x),
            stats.kurtosis(x),
            *shares,
            np.log(total),
            hr,
            np.log(hr),
            rr_cv,
            beat.max(),
            beat.min(),
            np.log(max(beat.max() - beat.min(), _EPS_MV)),
            *binned,
        ]
    )
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


# ------------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------------


def check_folds(folds: tuple[int, ...]) -> tuple[int, ...]:
    """Refuse the test fold: this study tunes and reports on folds 1-9 only."""
    if TEST_FOLD in folds:
        raise ValueError(f"fold {TEST_FOLD} is the test fold and is never used here")
    return tuple(folds)


@dataclass
class Study:
    """Per record: Lead I features (n, len(FEATURES)) and all 12 amplitudes (n, 12) in mV."""

    features: np.ndarray
    amplitude_mv: np.ndarray

    def log_targets(self) -> np.ndarray:
        idx = [LEAD_NAMES.index(n) for n in TARGETS]
        return np.log(np.maximum(self.amplitude_mv[:, idx], _EPS_MV))


def study_data(cache: Cache, folds: tuple[int, ...], chunk: int = 128) -> Study:
    """Features and amplitudes of the cached records of ``folds`` (band-passed as scored)."""
    idx = cache.select(check_folds(folds))
    fs = cache.spec.fs
    feats, amps = [], []
    for s in range(0, len(idx), chunk):
        x = eval_band(cache.leads_mv(idx[s : s + chunk]), fs)
        amps.append(amplitude(x, axis=1))
        feats.extend(lead_i_features(rec[:, 0], fs) for rec in x)
    return Study(np.asarray(feats).reshape(len(idx), len(FEATURES)), np.concatenate(amps))


# ------------------------------------------------------------------------------------------------
# Predictors of log amplitude
# ------------------------------------------------------------------------------------------------


def _ridge_path(x: np.ndarray, y: np.ndarray, alphas: tuple[float, ...]) -> np.ndarray:
    """Centred design and targets -> (alphas, features, targets) coefficients, one eigh of X'X."""
    ev, v = np.linalg.eigh(x.T @ x)
    ev = np.maximum(ev, 0.0)
    vtxy = v.T @ (x.T @ y)
    out = []
    for a in alphas:
        d = ev + a
        inv = np.where(d > 1e-10 * max(ev.max(), 1e-12), 1.0 / np.maximum(d, 1e-300), 0.0)
        out.append(v @ (inv[:, None] * vtxy))
    return np.stack(out)


def _one_thread():
    """BLAS on one thread: the fits are small, and two cores shared with training oversubscribe
    badly (a 1600 x 300 decomposition takes 0.1 s on one thread, several seconds on many)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: only speed depends on it
        return contextlib.nullcontext()
    return threadpool_limits(1)


def rff_map(n_in: int, width: float, n_out: int, seed: int = 0) -> Callable:
    """Random Fourier features of an RBF kernel with gamma = width / n_in, plus the inputs."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, np.sqrt(2 * width / n_in), size=(n_in, n_out))
    b = rng.uniform(0, 2 * np.pi, size=n_out)
    return lambda z: np.hstack([z, np.sqrt(2.0 / n_out) * np.cos(z @ w + b)])


@dataclass
class Ridge:
    """Standardise -> optional expansion -> standardise -> ridge; one penalty per target."""

    mean: np.ndarray
    scale: np.ndarray
    expand: Callable | None
    emean: np.ndarray
    escale: np.ndarray
    coef: np.ndarray  # (design, targets)
    intercept: np.ndarray
    alpha: np.ndarray
    cv_mse: float
    oof: np.ndarray  # out-of-fold predictions on the training records at the chosen penalties

    def design(self, x: np.ndarray) -> np.ndarray:
        z = (x - self.mean) / self.scale
        if self.expand is not None:
            z = (self.expand(z) - self.emean) / self.escale
        return z

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.design(x) @ self.coef + self.intercept


def _standardiser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sd = x.std(axis=0)
    return x.mean(axis=0), np.where(sd > 1e-12, sd, 1.0)


def fit_ridge(
    x: np.ndarray,
    y: np.ndarray,
    alphas: tuple[float, ...] = ALPHAS,
    expand: Callable | None = None,
    folds: int = CV_FOLDS,
    seed: int = 0,
) -> Ridge:
    """Ridge of ``y`` (n, targets) on ``x`` (n, p); each target's penalty by ``folds``-fold CV.

    Standardisation uses all of ``x`` (label-free); CV folds are a random split of its rows.
    """
    with _one_thread():
        return _fit_ridge(x, y, alphas, expand, folds, seed)


def _fit_ridge(
    x: np.ndarray,
    y: np.ndarray,
    alphas: tuple[float, ...],
    expand: Callable | None,
    folds: int,
    seed: int,
) -> Ridge:
    mean, scale = _standardiser(x)
    z = (x - mean) / scale
    emean, escale = np.zeros(z.shape[1]), np.ones(z.shape[1])
    if expand is not None:
        z = expand(z)
        emean, escale = _standardiser(z)
        z = (z - emean) / escale
    n = len(z)
    part = kfold(n, folds, seed)
    oof = np.zeros((len(alphas), *y.shape))
    for k in range(folds):
        tr, te = part != k, part == k
        zm, ym = z[tr].mean(axis=0), y[tr].mean(axis=0)
        coefs = _ridge_path(z[tr] - zm, y[tr] - ym, alphas)
        oof[:, te] = (z[te] - zm) @ coefs + ym
    mse = ((oof - y) ** 2).mean(axis=1)  # (alphas, targets)
    best = mse.argmin(axis=0)
    chosen = np.asarray(alphas)[best]
    zm, ym = z.mean(axis=0), y.mean(axis=0)
    coefs = _ridge_path(z - zm, y - ym, tuple(chosen))
    coef = np.stack([coefs[j, :, j] for j in range(y.shape[1])], axis=1)
    return Ridge(
        mean,
        scale,
        expand,
        emean,
        escale,
        coef,
        ym - zm @ coef,
        chosen,
        float(mse[best, np.arange(y.shape[1])].mean()),
        oof[best, :, np.arange(y.shape[1])].T,
    )


def fit_rff(x: np.ndarray, y: np.ndarray, seed: int = 0, n_out: int = RFF_FEATURES) -> Ridge:
    """Ridge on features + random Fourier features; the kernel width also chosen by CV."""
    fits = [
        fit_ridge(x, y, expand=rff_map(x.shape[1], w, n_out, seed), seed=seed) for w in RFF_WIDTHS
    ]
    return min(fits, key=lambda m: m.cv_mse)


def fit_ols_lead_i(x: np.ndarray, y: np.ndarray) -> Ridge:
    """Least squares on log Lead I amplitude alone (no penalty)."""
    col = FEATURES.index("log_amplitude")
    keep = np.zeros(x.shape[1], dtype=bool)
    keep[col] = True
    fit = fit_ridge(x[:, keep], y, alphas=(0.0,))
    return _embed(fit, keep)


def _embed(fit: Ridge, keep: np.ndarray) -> Ridge:
    """A fit on some columns -> the same predictor taking every feature column."""
    p = len(keep)
    mean, scale, coef = np.zeros(p), np.ones(p), np.zeros((p, fit.coef.shape[1]))
    mean[keep], scale[keep], coef[keep] = fit.mean, fit.scale, fit.coef
    return Ridge(
        mean,
        scale,
        None,
        np.zeros(p),
        np.ones(p),
        coef,
        fit.intercept,
        fit.alpha,
        fit.cv_mse,
        fit.oof,
    )


def spread_factor(fit: Ridge, y: np.ndarray) -> np.ndarray:
    """Per target: real / predicted spread of log amplitude, from out-of-fold predictions."""
    return y.std(axis=0) / np.maximum(fit.oof.std(axis=0), 1e-9)


PREDICTORS: dict[str, Callable[[np.ndarray, np.ndarray], Ridge]] = {
    "ols_log_amp_i": fit_ols_lead_i,
    "ridge": lambda x, y: fit_ridge(x, y),
    "ridge_rff": lambda x, y: fit_rff(x, y),
}


# ------------------------------------------------------------------------------------------------
# Scores
# ------------------------------------------------------------------------------------------------


def amplitude_scores(real_mv: np.ndarray, pred_log: np.ndarray) -> dict:
    """(n, targets) real amplitudes in mV and predicted log amplitudes -> per-lead agreement."""
    pred = np.exp(pred_log)
    per_lead = {n: agreement(real_mv[:, j], pred[:, j]) for j, n in enumerate(TARGETS)}
    prec = [per_lead[n] for n in PRECORDIAL]
    return {
        "v1_v6_r2": float(np.mean([a["r2"] for a in prec])),
        "v1_v6_slope": float(np.mean([a["slope"] for a in prec])),
        "per_lead": per_lead,
    }


def _cv_r2(fit: Ridge, y: np.ndarray) -> float:
    """Out-of-fold V1-V6 mean R^2 inside the training records (log scale): picks the best."""
    cols = [TARGETS.index(n) for n in PRECORDIAL]
    return float(np.mean([np.corrcoef(fit.oof[:, j], y[:, j])[0, 1] ** 2 for j in cols]))


def learning_curve(
    train: Study,
    valid: Study,
    fitter: Callable[[np.ndarray, np.ndarray], Ridge],
    fractions: tuple[float, ...] = FRACTIONS,
    seeds: tuple[int, ...] = SEEDS,
) -> list[dict]:
    """V1-V6 R^2 on ``valid`` of ``fitter`` refitted (CV included) on random subsets of ``train``.

    At 100 % the seeds differ only in row order, hence in the CV split: their spread is the
    tuning noise, a yardstick for the differences between fractions.
    """
    y, real = train.log_targets(), np.exp(valid.log_targets())
    rows = []
    for frac in fractions:
        r2 = []
        for seed in seeds:
            n = max(int(round(frac * len(y))), 2 * CV_FOLDS)
            sub = np.random.default_rng(1000 + seed).permutation(len(y))[:n]
            fit = fitter(train.features[sub], y[sub])
            r2.append(amplitude_scores(real, fit.predict(valid.features))["v1_v6_r2"])
        rows.append(
            {
                "fraction": frac,
                "records": n,
                "v1_v6_r2_mean": float(np.mean(r2)),
                "v1_v6_r2_sd": float(np.std(r2)),
                "v1_v6_r2": [float(v) for v in r2],
            }
        )
    return rows


def run(cache: Cache, train_folds: tuple[int, ...], eval_fold: int) -> dict:
    t0 = time.time()
    train = study_data(cache, train_folds)
    valid = study_data(cache, (eval_fold,))
    y, real = train.log_targets(), np.exp(valid.log_targets())
    print(
        f"features: {len(train.features)} training, {len(valid.features)} fold-{eval_fold} "
        f"records, {time.time() - t0:.0f} s",
        flush=True,
    )
    results, fits, cv = {}, {}, {}
    for name, fitter in PREDICTORS.items():
        fits[name] = fitter(train.features, y)
        cv[name] = _cv_r2(fits[name], y)
        results[name] = amplitude_scores(real, fits[name].predict(valid.features))
        results[name]["cv_v1_v6_r2_log"] = cv[name]
        results[name]["alpha"] = dict(zip(TARGETS, fits[name].alpha.tolist(), strict=True))
        print(f"  {name}: {time.time() - t0:.0f} s", flush=True)
    best = max(cv, key=cv.get)
    k = spread_factor(fits[best], y)
    centre = y.mean(axis=0)
    stretched = centre + (fits[best].predict(valid.features) - centre) * k
    results[f"{best}_spread"] = amplitude_scores(real, stretched)
    results[f"{best}_spread"]["factor"] = dict(zip(TARGETS, k.tolist(), strict=True))
    curve = learning_curve(train, valid, PREDICTORS[best])
    return {
        "train_folds": list(train_folds),
        "eval_fold": eval_fold,
        "records": {"train": len(train.features), "eval": len(valid.features)},
        "fs": cache.spec.fs,
        "features": list(FEATURES),
        "targets": list(TARGETS),
        "best_by_cv": best,
        "predictors": results,
        "learning_curve": {"predictor": best, "points": curve},
        "seconds": round(time.time() - t0, 1),
    }


def table(out: dict) -> str:
    names = list(out["predictors"])
    head = f"{'lead':<6}" + "".join(f"{n:>22}" for n in names)
    lines = [
        f"fold {out['eval_fold']}: R^2 / slope of predicted-on-real amplitude "
        f"({out['records']['train']} training, {out['records']['eval']} scored records)",
        head,
    ]
    for lead in TARGETS:
        cells = []
        for n in names:
            a = out["predictors"][n]["per_lead"][lead]
            cells.append(f"{a['r2']:>14.3f} /{a['slope']:>6.2f}")
        lines.append(f"{lead:<6}" + "".join(cells))
    cells = [
        f"{out['predictors'][n]['v1_v6_r2']:>14.3f} /{out['predictors'][n]['v1_v6_slope']:>6.2f}"
        for n in names
    ]
    lines.append(f"{'V1-V6':<6}" + "".join(cells))
    cells = [f"{out['predictors'][n].get('cv_v1_v6_r2_log', float('nan')):>22.3f}" for n in names]
    lines.append(f"{'CV log':<6}" + "".join(cells) + "   (folds 1-8, out-of-fold, log scale)")
    lc = out["learning_curve"]
    lines.append(f"learning curve ({lc['predictor']}), V1-V6 R^2 on fold {out['eval_fold']}:")
    for p in lc["points"]:
        lines.append(
            f"  {p['fraction']:>5.0%} ({p['records']:>5} records): "
            f"{p['v1_v6_r2_mean']:.3f} +- {p['v1_v6_r2_sd']:.3f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE / "ptbxl-250hz.npz")
    p.add_argument("--json", type=Path, default=None, help="write the full results here")
    p.add_argument(
        "--train-folds", default=",".join(map(str, TRAIN_FOLDS)), help="never the test fold"
    )
    p.add_argument("--eval-fold", type=int, default=VALID_FOLD)
    args = p.parse_args(argv)
    train_folds = check_folds(tuple(int(f) for f in args.train_folds.split(",")))
    check_folds((args.eval_fold,))
    if args.eval_fold in train_folds:
        raise ValueError("the scored fold must not be a training fold")
    out = run(Cache.load(args.cache), train_folds, args.eval_fold)
    out["cache"] = str(args.cache)
    out["command"] = harness.command("training.amplitude_ceiling", argv or [])
    print(table(out))
    print(f"runtime {out['seconds']:.0f} s")
    if args.json:
        harness.write_json(args.json, out, indent=2)
    return out


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
