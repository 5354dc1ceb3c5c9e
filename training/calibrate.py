"""Calibrate a model's per-lead expected error (:mod:`ecg12.trust`) on PTB-XL fold 9.

    python -m training.calibrate --ptbxl ../shared/data/ptbxl --model ekgan \\
        --figures docs/figures --write

Every fold-9 record (with ``--ptbxl100``, its 100 Hz records too) is reconstructed from its real
Lead I (an any-lead model: from each input set of ``--leads``) through the public API, output at
500 Hz (:mod:`training.evaluate`), and each reconstructed lead's actual MAE is measured against
the real lead, both band-passed as :mod:`training.metrics` scores them. Per lead, least squares
fits log MAE on :func:`ecg12.trust.features` of the reconstruction (what the runtime sees). The
numbers reported are out of fold (5-fold cross-validation over records), so they are not the
fit's own training error; the shipped coefficients are then fitted on all records. ``--write``
stores the result as the card's ``trust`` block in the registry (an any-lead model: one block
per input set in ``trust_by_inputs``).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import ecg12
from ecg12.leads import LEAD_NAMES
from ecg12.trust import FEATURES, GRADES, Calibration, features, inputs_key, reference_lead
from training import harness
from training.cards import REGISTRY, register
from training.data import VALID_FOLD
from training.harness import FS, FoldOutput, fold_records, reconstruct_fold
from training.metrics import EVAL_BAND, RECONSTRUCTED, record_scores
from training.stats import kfold

#: Cross-validation folds over records; record i (in ecg_id order) is held out in fold i mod K.
CV_FOLDS = 5
COVERAGE = 0.8
COVERAGE_KEY = "coverage80"
#: Waveform r (real vs reconstructed lead) that separates good / fair from fair / poor. Grades
#: are as common as these outcomes: see :func:`grade_thresholds`.
GRADE_R = (0.9, 0.7)
#: Leads drawn in the scatter figure: a limb lead the model gets right and wrong, two precordials.
SCATTER_LEADS = ("II", "aVF", "V2", "V5")
DPI = 100


@dataclass
class Observations:
    """Per record and estimated lead (II..V6 from Lead I): design rows, actual MAE (mV) and
    waveform r."""

    x: np.ndarray  # (records, leads, features)
    mae: np.ndarray  # (records, leads)
    r: np.ndarray  # (records, leads)
    ecg_ids: list[int]
    leads: tuple[str, ...] = RECONSTRUCTED  # the estimated leads, in standard order

    @property
    def lead_i_amplitude(self) -> np.ndarray:
        """The reference lead's amplitude per record (Lead I, or the first given lead): the
        trivial predictor's expected error, up to scale."""
        return np.exp(self.x[:, 0, FEATURES.index("log_lead_i_amplitude")])

    @property
    def lead_amplitude(self) -> np.ndarray:
        """Each estimated lead's amplitude (records, leads): what grades divide by."""
        return np.exp(self.x[:, :, FEATURES.index("log_lead_amplitude")])


def observe(fold: FoldOutput, given: tuple[str, ...] = ("I",)) -> Observations:
    """Features of each reconstruction and its actual per-lead MAE and r against the real
    record, for the leads not ``given``."""
    cols = [i for i, n in enumerate(LEAD_NAMES) if n not in given]
    ref = reference_lead(given)
    rows = [
        features(rec, FS, spread, ref)[cols]
        for rec, spread in zip(fold.rec, fold.spread, strict=True)
    ]
    r, mae, *_ = record_scores(fold.real, fold.rec, FS)
    leads = tuple(LEAD_NAMES[i] for i in cols)
    return Observations(np.stack(rows), mae[:, cols], r[:, cols], list(fold.ecg_ids), leads)


def fit(x: np.ndarray, log_mae: np.ndarray) -> tuple[np.ndarray, float]:
    """Least squares of log MAE on ``x`` (records, features); residual SD with the fit's dof."""
    coef, *_ = np.linalg.lstsq(x, log_mae, rcond=None)
    resid = log_mae - x @ coef
    return coef, float(np.sqrt((resid**2).sum() / (len(x) - x.shape[1])))


def fit_leads(
    x: np.ndarray, log_mae: np.ndarray, leads: tuple[str, ...] = RECONSTRUCTED
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """One fit per estimated lead: x (records, leads, features), log_mae (records, leads)."""
    coef, sigma = {}, {}
    for j, name in enumerate(leads):
        c, sigma[name] = fit(x[:, j], log_mae[:, j])
        coef[name] = [float(v) for v in c]
    return coef, sigma


def predict(coef: dict[str, list[float]], x: np.ndarray) -> np.ndarray:
    """Expected MAE (records, leads) in mV of the leads ``coef`` holds (in its order, which is
    the observations'), as Calibration.expected_error computes it."""
    return np.exp(np.stack([x[:, j] @ np.asarray(c) for j, c in enumerate(coef.values())], axis=1))


def covered(
    actual: np.ndarray, expected: np.ndarray, sigma: dict[str, float], level: float = COVERAGE
) -> np.ndarray:
    """Whether each actual MAE (records, leads) lies in the runtime's central ``level`` interval
    (``sigma`` holds the leads, in the observations' order).

    Uses :meth:`ecg12.trust.Calibration.interval` itself, so the coverage reported is that of
    the interval users get.
    """
    given = tuple(n for n in LEAD_NAMES if n not in sigma)
    cal = Calibration({}, sigma, (0.0, 0.0), {}, given)  # only its interval is used
    cols = [LEAD_NAMES.index(n) for n in sigma]
    full = np.zeros((len(expected), 12))
    full[:, cols] = expected
    lo, hi = cal.interval(full, level)
    return (lo[:, cols] <= actual) & (actual <= hi[:, cols])


def out_of_fold(
    x: np.ndarray,
    log_mae: np.ndarray,
    levels: tuple[float, ...] = (COVERAGE,),
    k: int = CV_FOLDS,
    leads: tuple[str, ...] = RECONSTRUCTED,
) -> tuple[np.ndarray, np.ndarray]:
    """Each record's expected MAE (records, leads) from fits that never saw it, and whether its
    actual MAE fell inside those fits' intervals at each level (levels, records, leads)."""
    folds = kfold(len(x), k)  # deterministic: records arrive in ecg_id order
    expected = np.empty(log_mae.shape)
    inside = np.empty((len(levels), *log_mae.shape), dtype=bool)
    for held in range(k):
        test = folds == held
        coef, sigma = fit_leads(x[~test], log_mae[~test], leads)
        expected[test] = predict(coef, x[test])
        for i, level in enumerate(levels):
            inside[i, test] = covered(np.exp(log_mae[test]), expected[test], sigma, level)
    return expected, inside


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def grade_thresholds(
    ratio: np.ndarray, r: np.ndarray, grade_r: tuple[float, float] = GRADE_R
) -> tuple[float, float]:
    """Thresholds on expected error / lead amplitude that grade as many leads good as reach
    r >= grade_r[0] and as many poor as stay below grade_r[1] (quantile matching)."""
    good = float(np.mean(r >= grade_r[0]))
    poor = float(np.mean(r < grade_r[1]))
    lo, hi = np.quantile(ratio, [good, 1.0 - poor])
    return round(float(lo), 4), round(float(hi), 4)


def grade(ratio: np.ndarray, thresholds: tuple[float, float]) -> np.ndarray:
    """good / fair / poor as 0 / 1 / 2, with the same comparisons as Calibration.grades."""
    return np.digitize(ratio, thresholds)


def _grade_summary(r: np.ndarray, sel: np.ndarray) -> dict[str, float | None]:
    """How the leads ``sel`` of one grade actually fared: their share and waveform r."""
    r = r[sel]
    if not len(r):
        return {"share": 0.0, "median_r": None}
    return {
        "share": float(sel.mean()),
        "median_r": float(np.median(r)),
        f"share_r_ge_{GRADE_R[0]:g}": float(np.mean(r >= GRADE_R[0])),
        f"share_r_lt_{GRADE_R[1]:g}": float(np.mean(r < GRADE_R[1])),
    }


def validate(obs: Observations, k: int = CV_FOLDS) -> tuple[dict, tuple[float, float], np.ndarray]:
    """Out-of-fold scores, grade thresholds and the out-of-fold expected MAE (records, 11)."""
    expected, inside = out_of_fold(obs.x, np.log(obs.mae), (COVERAGE,), k, obs.leads)
    hits = inside[0]
    ours = {n: spearman(expected[:, j], obs.mae[:, j]) for j, n in enumerate(obs.leads)}
    trivial = {n: spearman(obs.lead_i_amplitude, obs.mae[:, j]) for j, n in enumerate(obs.leads)}
    ratio = expected / obs.lead_amplitude
    thresholds = grade_thresholds(ratio, obs.r)
    graded = grade(ratio, thresholds)
    grades = {name: _grade_summary(obs.r, graded == g) for g, name in enumerate(GRADES)}
    report = {
        "records": len(obs.ecg_ids),
        "cross_validation": f"{k}-fold over records, record i (ecg_id order) held out in fold "
        f"i mod {k}; every number below is out of fold",
        "spearman": {"mean": float(np.mean(list(ours.values()))), "per_lead": ours},
        "trivial": {
            "predictor": "expected error proportional to the reference lead's amplitude",
            "mean": float(np.mean(list(trivial.values()))),
            "per_lead": trivial,
        },
        COVERAGE_KEY: {
            "overall": float(hits.mean()),
            "per_lead": {n: float(hits[:, j].mean()) for j, n in enumerate(obs.leads)},
        },
        "grades": grades,
    }
    return report, thresholds, expected


def trust_block(obs: Observations, command: str = "") -> tuple[dict, np.ndarray]:
    """The card's ``trust`` block (fit on all records, validation out of fold) and the
    out-of-fold expected MAE behind its validation numbers."""
    if obs.x.shape[2] != len(FEATURES):
        raise ValueError(f"observations must hold exactly ecg12.trust.FEATURES {FEATURES}")
    report, thresholds, expected = validate(obs)
    coef, sigma = fit_leads(obs.x, np.log(obs.mae), obs.leads)
    block = {
        "features": list(FEATURES),
        "coef": coef,
        "sigma": sigma,
        "grades_ratio": list(thresholds),
        "method": (
            f"per lead, least squares of log MAE ({EVAL_BAND[0]:g}-{EVAL_BAND[1]:g} Hz, "
            f"real vs reconstructed) on ecg12.trust.features; {round(COVERAGE * 100)}% "
            "interval log-normal with the residual SD; grades_ratio: thresholds on "
            "expected MAE / lead amplitude that grade as many leads good as reach "
            f"r >= {GRADE_R[0]:g} and as many poor as stay below r {GRADE_R[1]:g} "
            "(out-of-fold)"
        ),
        "fitted_on": f"PTB-XL fold {VALID_FOLD}, {len(obs.ecg_ids)} records",
        "validation": report,
    }
    if command:
        block["command"] = command
    return block, expected


def write_trust(name: str, block: dict, registry: Path = REGISTRY) -> None:
    """Merge ``block`` into ``name``'s card as ``trust``; it must parse before it is written."""
    Calibration.from_dict(block)
    card = json.loads(registry.read_text(encoding="utf-8"))["models"][name]
    register(name, card | {"trust": block}, registry)
    if ecg12.load_registry(registry).card(name).trust is None:
        raise RuntimeError(f"{registry}: card '{name}' lost its trust block")


def write_trust_by_inputs(name: str, blocks: dict[str, dict], registry: Path = REGISTRY) -> None:
    """Merge ``blocks`` (by input set) into an any-lead card's ``trust_by_inputs``."""
    card = json.loads(registry.read_text(encoding="utf-8"))["models"][name]
    merged = card.get("trust_by_inputs", {}) | blocks
    register(name, card | {"trust_by_inputs": merged}, registry)
    known = ecg12.load_registry(registry).card(name).trust_by_inputs
    if set(known) != set(merged):
        raise RuntimeError(f"{registry}: card '{name}' lost calibrations")


def _scatter(obs: Observations, expected: np.ndarray, sigma: dict[str, float], path: Path) -> None:
    from statistics import NormalDist

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    z = NormalDist().inv_cdf(0.5 + COVERAGE / 2)
    fig = Figure(figsize=(9, 8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 2).ravel()
    shown = [RECONSTRUCTED.index(name) for name in SCATTER_LEADS]
    both = np.concatenate([obs.mae[:, shown].ravel(), expected[:, shown].ravel()])
    lim = (float(both.min()) / 1.2, float(both.max()) * 1.2)
    line = np.geomspace(*lim, 50)
    for ax, name in zip(axes, SCATTER_LEADS, strict=True):
        j = RECONSTRUCTED.index(name)
        ax.scatter(expected[:, j], obs.mae[:, j], s=8, alpha=0.5, color="#1f5fd0", linewidths=0)
        ax.plot(line, line, color="0.3", lw=1, label="actual = expected")
        band = np.exp(z * sigma[name])
        ax.fill_between(
            line,
            line / band,
            line * band,
            color="0.5",
            alpha=0.15,
            label=f"{round(COVERAGE * 100)}% interval",
        )
        rho = spearman(expected[:, j], obs.mae[:, j])
        rho_i = spearman(obs.lead_i_amplitude, obs.mae[:, j])
        ax.set(
            xscale="log",
            yscale="log",
            xlim=lim,
            ylim=lim,
            aspect="equal",
            title=f"{name}: Spearman {rho:.2f} (Lead I amplitude alone: {rho_i:.2f})",
            xlabel="expected MAE, out of fold (mV)",
            ylabel="actual MAE (mV)",
        )
        ax.title.set_fontsize(9)
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(
        f"Expected vs actual per-record MAE, PTB-XL fold {VALID_FOLD} "
        f"({len(obs.ecg_ids)} records, {CV_FOLDS}-fold cross-validation)",
        fontsize=10,
    )
    fig.savefig(path, dpi=DPI)


def _coverage(obs: Observations, path: Path) -> None:
    """Nominal vs observed coverage of the runtime interval at several levels, per lead."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    levels = np.array([0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
    _, inside = out_of_fold(obs.x, np.log(obs.mae), tuple(levels))
    per_lead = inside.mean(axis=1).T  # (11, levels)
    fig = Figure(figsize=(5.5, 5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for row in per_lead:
        ax.plot(levels * 100, row * 100, color="#1f5fd0", alpha=0.3, lw=1)
    ax.plot(
        levels * 100,
        per_lead.mean(axis=0) * 100,
        color="#1f5fd0",
        lw=2.5,
        marker="o",
        label="all 11 leads (thin: each lead)",
    )
    ax.plot([45, 100], [45, 100], color="0.3", lw=1, ls="--", label="observed = nominal")
    ax.fill_between([45, 100], [40, 95], [50, 105], color="0.5", alpha=0.15, label="±5 points")
    ax.set(
        xlim=(45, 100),
        ylim=(40, 100),
        xlabel="nominal coverage of the interval (%)",
        ylabel="records inside it, out of fold (%)",
        title=f"Interval coverage, PTB-XL fold {VALID_FOLD}",
    )
    ax.legend(loc="upper left", fontsize=8)
    fig.savefig(path, dpi=DPI)


def _print_report(report: dict, thresholds: tuple[float, float]) -> None:
    cov = report[COVERAGE_KEY]
    print(f"{'lead':5s} {'ours':>6s} {'trivial':>8s} {'cov80':>6s}")
    for name in report["spearman"]["per_lead"]:
        print(
            f"{name:5s} {report['spearman']['per_lead'][name]:6.3f} "
            f"{report['trivial']['per_lead'][name]:8.3f} {cov['per_lead'][name]:6.3f}"
        )
    print(
        f"{'mean':5s} {report['spearman']['mean']:6.3f} {report['trivial']['mean']:8.3f} "
        f"{cov['overall']:6.3f}"
    )
    print(
        f"grade thresholds (expected MAE / lead amplitude): {thresholds[0]:.4f}, "
        f"{thresholds[1]:.4f}"
    )
    for name, g in report["grades"].items():
        print(f"  {name}: {g}")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--ptbxl", type=Path, required=True, help="PTB-XL root (ptbxl_database.csv)")
    p.add_argument(
        "--ptbxl100", type=Path, default=None, help="ptbxl100/: fold 9's 100 Hz records too"
    )
    p.add_argument("--model", required=True, help="registered model name")
    p.add_argument(
        "--registry",
        type=Path,
        default=REGISTRY,
        help="registry.json to read the model from and write to (default: the repo's)",
    )
    p.add_argument("--figures", type=Path, default=None, help="folder for calibration-*.png")
    p.add_argument(
        "--leads",
        action="append",
        default=None,
        help="an any-lead model: the input set to calibrate, as comma-separated leads (repeat "
        "for more sets; default: training.anylead.EVAL_SETS)",
    )
    p.add_argument("--write", action="store_true", help="store the trust block in the card")
    args = p.parse_args(argv)
    model = ecg12.load(args.model, device="cpu", registry=ecg12.load_registry(args.registry))
    records = fold_records(args.ptbxl, VALID_FOLD, ptbxl100=args.ptbxl100)
    if model.inputs == "any":
        calibrate_sets(model, records, args.leads, args.registry if args.write else None, argv)
        return
    obs = observe(reconstruct_fold(model, records))
    block, expected = trust_block(obs, harness.command("training.calibrate", argv))
    print(f"{args.model}: {block['fitted_on']}")
    _print_report(block["validation"], tuple(block["grades_ratio"]))
    if args.figures:
        args.figures.mkdir(parents=True, exist_ok=True)
        _scatter(obs, expected, block["sigma"], args.figures / "calibration-scatter.png")
        _coverage(obs, args.figures / "calibration-coverage.png")
        print(f"wrote {args.figures}/calibration-scatter.png, calibration-coverage.png")
    if args.write:
        write_trust(args.model, block, args.registry)
        print(f"wrote the trust block of '{args.model}' into {args.registry}")


def set_block(fold: FoldOutput, given: tuple[str, ...], command: str) -> dict:
    """An any-lead model's calibration for one input set, from its reconstructed fold."""
    block, _ = trust_block(observe(fold, given), command)
    block["fitted_on"] += f", given {', '.join(given)}"
    return block


def calibrate_sets(
    model: ecg12.Model, records: list, sets: list[str] | None, registry: Path | None, argv: list
) -> None:
    """An any-lead model: one calibration per input set, written to ``registry`` if given."""
    from ecg12.leads import complete_mask, lead_mask

    if sets is None:
        from training.anylead import EVAL_SETS

        chosen = [tuple(names) for names in EVAL_SETS]
    else:
        chosen = [tuple(n.strip() for n in item.split(",")) for item in sets]
    blocks = {}
    for names in chosen:
        present = complete_mask(lead_mask(names))
        given = tuple(n for n, p in zip(LEAD_NAMES, present, strict=True) if p)
        fold = reconstruct_fold(model, records, leads=names)
        block = set_block(fold, given, harness.command("training.calibrate", argv))
        blocks[inputs_key(given)] = block
        print(f"{model.name}: {block['fitted_on']}")
        _print_report(block["validation"], tuple(block["grades_ratio"]))
    if registry is not None:
        write_trust_by_inputs(model.name, blocks, registry)
        print(f"wrote {len(blocks)} calibrations of '{model.name}' into {registry}")


if __name__ == "__main__":
    main()
