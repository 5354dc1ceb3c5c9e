"""Diagnostic fidelity: does a reconstructed 12-lead ECG carry diagnostic information that
Lead I alone does not, or does it only look as if it does?

    python -m training.diagnostic --ptbxl /work/shared/data/ptbxl --out docs/diagnostic.md \\
        --json docs/diagnostic.json

A small 1-D CNN learns PTB-XL's five diagnostic superclasses (multi-label) from the real 12 leads
of folds 1-7 (fold 8 stops training early), a second one with the same architecture from Lead I
only. Both are scored by AUROC on fold 9 with the real leads, with real Lead I plus the 11 leads
each shipped model reconstructs (through the public API, conditioned exactly as the cache), and
with Lead I alone. Fold 9 is the reconstruction models' selection fold, never seen by the
classifiers. Trained weights are kept under ``~/.cache/ecg12-train/diagnostic/`` (``--reuse``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import ecg12  # noqa: E402
from ecg12.preprocess import PreprocessSpec  # noqa: E402
from training.data import DEFAULT_CACHE, VALID_FOLD, Cache, condition, expand, read_index  # noqa: E402
from training.evaluate import PTBXL_CREDIT, _cpu_name, fold_records, reconstruct_fold  # noqa: E402

SUPERCLASSES = ("NORM", "MI", "STTC", "CD", "HYP")
FIT_FOLDS = (1, 2, 3, 4, 5, 6, 7)
STOP_FOLD = 8  # early stopping; patients never cross folds, so this is a clean hold-out
TEST_FOLD = VALID_FOLD  # 9: the reconstruction models' selection fold, unseen by the classifiers
RECONSTRUCTORS = ("ekgan", "linear")
WEIGHTS_DIR = DEFAULT_CACHE / "diagnostic"
ROWS = {  # row key -> label in the table
    "real": "real 12-lead",
    "ekgan": "Lead I + ekgan reconstruction",
    "linear": "Lead I + linear reconstruction",
    "lead_i": "Lead I alone",
}
#: Paired differences in macro AUROC: the gain over Lead I alone, and the gap to the real leads.
PAIRS = [
    ("real", "lead_i"),
    ("ekgan", "lead_i"),
    ("linear", "lead_i"),
    ("ekgan", "real"),
    ("linear", "real"),
]


@dataclass(frozen=True)
class FitConfig:
    """Everything that defines a classifier; weights are reused only when it matches."""

    filters: tuple[int, ...] = (32, 64, 64, 128, 128)
    kernel: int = 7
    dropout: float = 0.3
    epochs: int = 30  # at most; early stopping on fold 8's macro AUROC usually ends sooner
    patience: int = 5
    batch_size: int = 32
    lr: float = 1e-3
    seed: int = 0


# ---------------------------------------------------------------- labels


def superclass_map(scp_statements: Path) -> dict[str, str]:
    """SCP code -> superclass for the diagnostic rows (diagnostic 1) of ``scp_statements.csv``."""
    with open(scp_statements, newline="") as f:
        rows = list(csv.DictReader(f))
    return {
        r[""]: r["diagnostic_class"]
        for r in rows
        if r["diagnostic"] and float(r["diagnostic"]) == 1.0 and r["diagnostic_class"]
    }


def superclass_labels(scp_codes: dict[str, float], mapping: dict[str, str]) -> np.ndarray:
    """PTB-XL's standard aggregation: a superclass if any of the record's codes maps to it.

    Every listed code counts whatever its likelihood (0 included), as in PTB-XL's own example.
    """
    found = {mapping[c] for c in scp_codes if c in mapping}
    return np.array([c in found for c in SUPERCLASSES], dtype=np.float32)


def label_table(ptbxl: Path) -> dict[int, np.ndarray]:
    """ecg_id -> (5,) labels for every record present under ``ptbxl``."""
    mapping = superclass_map(ptbxl / "scp_statements.csv")
    return {r.ecg_id: superclass_labels(r.scp_codes, mapping) for r in read_index(ptbxl)}


# ---------------------------------------------------------------- AUROC


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


# ---------------------------------------------------------------- classifier


def build_classifier(channels: int, cfg: FitConfig, samples: int = 2500) -> keras.Model:
    """Conv1D-BatchNorm-ReLU-MaxPool blocks, global average pooling, five sigmoids."""
    inp = keras.Input((samples, channels))
    x = inp
    for i, f in enumerate(cfg.filters):
        # A strided first layer halves the cost; 125 Hz still holds the QRS's main energy.
        x = keras.layers.Conv1D(
            f, cfg.kernel, strides=2 if i == 0 else 1, padding="same", use_bias=False
        )(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling1D(2)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    x = keras.layers.Dropout(cfg.dropout)(x)
    model = keras.Model(inp, keras.layers.Dense(len(SUPERCLASSES), activation="sigmoid")(x))
    model.compile(
        keras.optimizers.Adam(cfg.lr),
        "binary_crossentropy",
        metrics=[keras.metrics.AUC(multi_label=True, num_labels=len(SUPERCLASSES), name="auc")],
    )
    return model


def fit_classifier(
    x_fit: np.ndarray, y_fit: np.ndarray, x_stop: np.ndarray, y_stop: np.ndarray, cfg: FitConfig
) -> tuple[keras.Model, dict]:
    """Seeded fit; keeps the epoch with the best macro AUROC on the early-stopping records."""
    keras.utils.set_random_seed(cfg.seed)
    model = build_classifier(x_fit.shape[-1], cfg, x_fit.shape[1])
    stop = keras.callbacks.EarlyStopping(
        "val_auc", mode="max", patience=cfg.patience, restore_best_weights=True
    )
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    hist = model.fit(
        x_fit,
        y_fit,
        batch_size=cfg.batch_size,
        epochs=cfg.epochs,
        verbose=2,
        validation_data=(x_stop, y_stop),
        callbacks=[stop],
        shuffle=True,
    )
    seconds = time.perf_counter() - t0
    history = {k: [round(float(v), 4) for v in vals] for k, vals in hist.history.items()}
    return model, {
        "config": asdict(cfg),
        "train_seconds": round(seconds, 1),
        "epochs_trained": len(history["loss"]),
        "best_epoch": int(np.argmax(history["val_auc"])) + 1,
        "parameters": int(model.count_params()),
        "fit_records": len(x_fit),
        "stop_records": len(x_stop),
        "cpu": _cpu_name(),
        "load_average_start": round(load, 2),
        "load_average_end": round(os.getloadavg()[0], 2),
        "history": history,
    }


def load_or_fit(
    name: str, data: tuple[np.ndarray, ...], cfg: FitConfig, weights_dir: Path, reuse: bool
) -> tuple[keras.Model, dict]:
    """The cached classifier when ``reuse`` and its config match, else a fresh fit (then cached)."""
    weights = weights_dir / f"{name}.npz"
    meta_path = weights_dir / f"{name}.json"
    if reuse and weights.is_file() and meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        if meta["config"] == json.loads(json.dumps(asdict(cfg))):
            model = build_classifier(data[0].shape[-1], cfg, data[0].shape[1])
            with np.load(weights) as z:
                model.set_weights([z[f"w{i}"] for i in range(len(z.files))])
            print(f"{name}: reusing {weights}", flush=True)
            return model, meta
        print(f"{name}: cached config differs; training again", flush=True)
    model, meta = fit_classifier(*data, cfg)
    weights_dir.mkdir(parents=True, exist_ok=True)
    # The layer weights alone (no optimizer state): all that scoring a cached classifier needs.
    np.savez(weights, **{f"w{i}": w for i, w in enumerate(model.get_weights())})
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
    return model, meta


def predict(model: keras.Model, x: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(x, batch_size=64, verbose=0), dtype=np.float64)


# ---------------------------------------------------------------- inputs


def classifier_inputs(leads_500: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """(records, samples, 12) mV at 500 Hz -> conditioned exactly as the training cache.

    The cache's path: the eight independent leads through ecg12.preprocess, rounded to int16 µV,
    then III, aVR, aVL, aVF re-derived from I and II.
    """
    out = []
    for rec in leads_500:
        uv = np.round(condition(rec, 500.0, spec) * 1000)
        out.append(np.clip(uv, -32768, 32767).astype(np.int16))
    return expand(np.stack(out).astype(np.float32) / 1000.0)


def reconstructed_inputs(
    ptbxl: Path, spec: PreprocessSpec, samples: int
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], dict]:
    """Fold 9 through each shipped model: ids, real inputs, Lead I + reconstruction inputs.

    Only records every model accepted are kept, so all rows score the same records.
    """
    records = fold_records(ptbxl, TEST_FOLD)
    outs, facts = {}, {}
    for name in RECONSTRUCTORS:
        model = ecg12.load(name, device="cpu")
        t0 = time.perf_counter()
        outs[name] = reconstruct_fold(model, records)
        facts[name] = {
            "version": model.card.version,
            "refused": len(outs[name].refused),
            "reconstruct_seconds": round(time.perf_counter() - t0, 1),
        }
    common = sorted(set.intersection(*(set(o.ecg_ids) for o in outs.values())))
    ids = np.asarray(common)
    real, hybrid = None, {}
    for name, out in outs.items():
        pos = [out.ecg_ids.index(i) for i in common]
        rec = out.rec[pos].copy()
        rec[..., 0] = out.real[pos, :, 0]  # the real Lead I, not the model's conditioned copy
        hybrid[name] = classifier_inputs(rec, spec)[:, :samples]
        if real is None:
            real = classifier_inputs(out.real[pos], spec)[:, :samples]
    return ids, real, hybrid, facts


# ---------------------------------------------------------------- study


def run(
    ptbxl: Path, cache_path: Path, cfg: FitConfig, weights_dir: Path, reuse: bool, n_boot: int
) -> dict:
    """Train (or reuse) both classifiers, score the four inputs on fold 9, bootstrap the CIs."""
    cache = Cache.load(cache_path)
    labels = label_table(ptbxl)
    has_label = np.array([labels[int(i)].any() for i in cache.ecg_id])
    part = {
        f: np.flatnonzero(np.isin(cache.fold, f) & has_label) for f in (FIT_FOLDS, (STOP_FOLD,))
    }
    fit, stop = part[FIT_FOLDS], part[(STOP_FOLD,)]
    y = np.stack([labels[int(i)] for i in cache.ecg_id])
    x_fit, x_stop = cache.leads_mv(fit), cache.leads_mv(stop)
    samples = x_fit.shape[1]

    ids, real, hybrid, recon = reconstructed_inputs(ptbxl, cache.spec, samples)
    keep = np.array([labels[int(i)].any() for i in ids])
    ids, real = ids[keep], real[keep]
    hybrid = {k: v[keep] for k, v in hybrid.items()}
    y_test = np.stack([labels[int(i)] for i in ids])
    # The fold-9 inputs took the cache's path from the raw records; they must agree with it.
    pos = {int(e): k for k, e in enumerate(cache.ecg_id)}
    cached = cache.leads_mv(np.array([pos[int(i)] for i in ids]))
    if np.abs(cached - real).max() > 2e-3:
        raise RuntimeError("fold-9 inputs differ from the cache; conditioning has drifted")

    scores: dict[str, np.ndarray] = {}
    model12, meta12 = load_or_fit(
        "lead12", (x_fit, y[fit], x_stop, y[stop]), cfg, weights_dir, reuse
    )
    scores["real"] = predict(model12, real)
    for name in RECONSTRUCTORS:
        scores[name] = predict(model12, hybrid[name])
    model1, meta1 = load_or_fit(
        "lead1", (x_fit[..., :1], y[fit], x_stop[..., :1], y[stop]), cfg, weights_dir, reuse
    )
    scores["lead_i"] = predict(model1, real[..., :1])

    rows = {}
    for key, s in scores.items():
        macro, per_class = macro_auroc(y_test, s)
        rows[key] = {
            "label": ROWS[key],
            "macro": macro,
            "per_class": dict(zip(SUPERCLASSES, per_class, strict=True)),
        }
    boot = bootstrap_macro(y_test, scores, PAIRS, n_boot, seed=cfg.seed)
    for key, ci in boot["ci"].items():
        rows[key]["macro_ci"] = ci
    counts = {
        "fit (folds 1-7)": y[fit],
        f"early stop (fold {STOP_FOLD})": y[stop],
        f"test (fold {TEST_FOLD})": y_test,
    }
    return {
        "rows": rows,
        "differences": boot["differences"],
        "bootstrap": n_boot,
        "class_counts": {
            k: {c: int(v[:, j].sum()) for j, c in enumerate(SUPERCLASSES)} | {"records": len(v)}
            for k, v in counts.items()
        },
        "unlabelled_dropped": {
            "train": int((~has_label & (cache.fold <= STOP_FOLD)).sum()),
            "test": int((~keep).sum()),
        },
        "classifiers": {"lead12": meta12, "lead1": meta1},
        "reconstructors": recon,
        "ecg12_version": ecg12.__version__,
        "spec": cache.spec.to_dict(),
        "predictions": {
            "ecg_ids": ids.tolist(),
            "labels": y_test.astype(int).tolist(),
            **{k: np.round(s, 4).tolist() for k, s in scores.items()},
        },
    }


# ---------------------------------------------------------------- report


def _verdict(name: str, diff: dict) -> str:
    """One sentence on a reconstruction's gain over Lead I alone, decided by the paired CI."""
    d, (lo, hi) = diff["difference"], diff["ci"]
    numbers = f"{d:+.3f} macro AUROC, 95 % CI {lo:+.3f} to {hi:+.3f}"
    if lo > 0:
        return f"Lead I + {name} scored higher than Lead I alone ({numbers})."
    if hi < 0:
        return f"Lead I + {name} scored lower than Lead I alone ({numbers})."
    return f"Lead I + {name} was not distinguishable from Lead I alone ({numbers})."


def render_markdown(res: dict, credit: str) -> str:
    """The docs page: method, AUROC table, differences, counts, timing, conclusion, credit."""
    rows, diffs, clf = res["rows"], res["differences"], res["classifiers"]
    table = [
        "| input | macro AUROC (95 % CI) | " + " | ".join(SUPERCLASSES) + " |",
        "|---|---|" + "---|" * len(SUPERCLASSES),
    ]
    for row in rows.values():
        lo, hi = row["macro_ci"]
        table.append(
            f"| {row['label']} | **{row['macro']:.3f}** ({lo:.3f}-{hi:.3f}) | "
            + " | ".join(f"{row['per_class'][c]:.3f}" for c in SUPERCLASSES)
            + " |"
        )
    diff_table = ["| difference | macro AUROC | 95 % CI |", "|---|---|---|"]
    for key, d in diffs.items():
        a, b = key.split(" - ")
        diff_table.append(
            f"| {ROWS[a]} − {ROWS[b]} | {d['difference']:+.3f} | "
            f"{d['ci'][0]:+.3f} to {d['ci'][1]:+.3f} |"
        )
    counts = [
        "| records | n | " + " | ".join(SUPERCLASSES) + " |",
        "|---|---|" + "---|" * len(SUPERCLASSES),
    ]
    for name, c in res["class_counts"].items():
        counts.append(
            f"| {name} | {c['records']} | " + " | ".join(str(c[k]) for k in SUPERCLASSES) + " |"
        )
    timing = [
        "| classifier | inputs | parameters | epochs trained | best epoch | train s "
        "| load average (start/end) |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, inputs in (("lead12", "12 leads"), ("lead1", "Lead I")):
        m = clf[key]
        timing.append(
            f"| {key} | {inputs} | {m['parameters']:,} | {m['epochs_trained']} | "
            f"{m['best_epoch']} | {m['train_seconds']:.0f} | "
            f"{m['load_average_start']:.1f} / {m['load_average_end']:.1f} |"
        )
    cfg = clf["lead12"]["config"]
    recon = ", ".join(
        f"{k} {v['version']} ({v['refused']} refused, "
        f"{v['reconstruct_seconds']:.0f} s incl. reading)"
        for k, v in res["reconstructors"].items()
    )
    verdicts = " ".join(_verdict(k, diffs[f"{k} - lead_i"]) for k in RECONSTRUCTORS)
    real, gap = diffs["real - lead_i"], [diffs[f"{k} - real"] for k in RECONSTRUCTORS]
    n_test = res["class_counts"][f"test (fold {TEST_FOLD})"]["records"]
    lines = [
        "# Diagnostic fidelity: does reconstruction add information beyond Lead I?",
        "",
        "Generated by `training/diagnostic.py`; do not edit by hand. Made with:",
        "",
        "```",
        res["command"],
        "```",
        "",
        "## Method",
        "",
        "- **Labels**: PTB-XL's five diagnostic superclasses (NORM, MI, STTC, CD, HYP), "
        "multi-label. A record has a superclass if any code in its `scp_codes` is a diagnostic "
        "statement (`diagnostic` = 1 in `scp_statements.csv`) of that `diagnostic_class`; every "
        "listed code counts whatever its likelihood (0 included), PTB-XL's standard aggregation. "
        f"Records with no superclass are left out ({res['unlabelled_dropped']['train']} in "
        f"folds 1-8, {res['unlabelled_dropped']['test']} in fold {TEST_FOLD}).",
        f"- **Classifier**: a 1-D CNN ({len(cfg['filters'])} blocks of Conv1D (kernel "
        f"{cfg['kernel']}, filters {', '.join(map(str, cfg['filters']))}, the first strided 2) + "
        "BatchNorm + ReLU + max-pool 2, global average pooling, dropout "
        f"{cfg['dropout']}, 5 sigmoids; Keras {keras.__version__} on TensorFlow), binary "
        f"cross-entropy, Adam {cfg['lr']:g}, batch {cfg['batch_size']}, seed {cfg['seed']}, at "
        f"most {cfg['epochs']} epochs. Trained on the real records of folds 1-7; fold 8 is "
        f"held out for early stopping (patience {cfg['patience']}, best fold-8 macro AUROC "
        "kept). One classifier sees all 12 leads, a second with the same architecture sees Lead I "
        "only.",
        f"- **Inputs**: 10 s at {res['spec']['fs']:g} Hz (2,500 samples), conditioned by "
        f"`ecg12.preprocess` ({res['spec']['highpass_hz']:g}-{res['spec']['lowpass_hz']:g} Hz "
        "band-pass, the training cache's spec), mV, limb leads III, aVR, aVL, aVF derived from "
        "I and II.",
        f"- **Test** (fold {TEST_FOLD}, {n_test} records): (a) the real 12 leads; (b) the real "
        "Lead I plus the 11 leads each shipped model reconstructs from it through the public API "
        '(`ecg12.load(name, device="cpu").reconstruct_many` on the 500 Hz Lead I), brought '
        "to 250 Hz and conditioned exactly as the real leads (same `ecg12.preprocess` call, same "
        f"int16 µV rounding), into the 12-lead classifier; (c) Lead I into the Lead I classifier. "
        f"Models: {recon}.",
        f"- **Fold {TEST_FOLD}** is PTB-XL's validation fold and the reconstruction models' "
        "selection fold (each chose its best epoch on it), so row (b) leans slightly "
        f"optimistic; the classifiers never saw fold {TEST_FOLD}. Fold 10, PTB-XL's test "
        "fold, is not used.",
        "- **AUROC**: per class by the rank-sum (Mann-Whitney) formula with tied scores sharing "
        f"their mean rank; macro = mean of the five. 95 % CIs: percentile bootstrap over "
        f"records ({res['bootstrap']} resamples, the same draws for every input, so differences "
        "are paired).",
        "",
        "## AUROC on fold 9",
        "",
        *table,
        "",
        "## Paired differences",
        "",
        *diff_table,
        "",
        "## Class counts",
        "",
        *counts,
        "",
        "Classes overlap (multi-label), so a row's classes can sum to more than n.",
        "",
        "## Training",
        "",
        *timing,
        "",
        f"On {clf['lead12']['cpu']}, shared with other work (1-minute load averages above); "
        "times are wall-clock `model.fit` including the per-epoch fold-8 evaluation. Weights "
        "are cached under `~/.cache/ecg12-train/diagnostic/`; `--reuse` skips training.",
        "",
        "## Conclusion",
        "",
        f"The real 12 leads score {real['difference']:+.3f} macro AUROC over Lead I alone "
        f"(95 % CI {real['ci'][0]:+.3f} to {real['ci'][1]:+.3f}): that is the diagnostic "
        f"information the other 11 leads hold for this classifier. {verdicts} Against the real "
        "leads the reconstructions give up "
        + " and ".join(
            f"{-g['difference']:.3f} ({k})" for k, g in zip(RECONSTRUCTORS, gap, strict=True)
        )
        + " macro AUROC.",
        "",
        "A reconstruction is computed from Lead I alone, so it cannot hold information about "
        "the patient that Lead I lacks. A gain over the Lead I classifier could only come from "
        "the reconstruction model's learned 12-lead prior re-expressing Lead I in a form the "
        "12-lead classifier can use, not from new measurements; the gap to the real leads is "
        "what reconstruction does not recover. Reconstructed leads are not a substitute for "
        "recorded ones in diagnosis.",
        "",
        "Limits: one small classifier per input, one seed, about 2,000 training records (a "
        "PTB-XL subset); a stronger classifier or the full data set would change the numbers, "
        "and the reconstructions are judged by a classifier trained on real leads only.",
        "",
        "## Data",
        "",
        f"Computed on {credit}. Per-record scores and labels are in the JSON "
        "file written beside this page.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--ptbxl", type=Path, required=True, help="PTB-XL root (ptbxl_database.csv)")
    p.add_argument(
        "--cache",
        type=Path,
        default=DEFAULT_CACHE / "ptbxl-250hz.npz",
        help="conditioned folds 1-9 from python -m training.data",
    )
    p.add_argument("--weights-dir", type=Path, default=WEIGHTS_DIR)
    p.add_argument(
        "--reuse",
        action="store_true",
        help="load cached classifier weights (same config) instead of training",
    )
    p.add_argument("--epochs", type=int, default=FitConfig.epochs)
    p.add_argument("--seed", type=int, default=FitConfig.seed)
    p.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples of fold 9")
    p.add_argument("--out", type=Path, default=None, help="Markdown page to write")
    p.add_argument("--json", type=Path, default=None, help="results and predictions as JSON")
    args = p.parse_args(argv)
    cfg = FitConfig(epochs=args.epochs, seed=args.seed)
    result = run(
        args.ptbxl, args.cache, cfg, args.weights_dir.expanduser(), args.reuse, args.bootstrap
    )
    result["command"] = "python -m training.diagnostic " + shlex.join(argv)
    result["ptbxl"] = str(args.ptbxl)
    result["date"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for row in result["rows"].values():
        lo, hi = row["macro_ci"]
        print(f"{row['label']:32s} macro AUROC {row['macro']:.3f} [{lo:.3f}, {hi:.3f}]")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(render_markdown(result, PTBXL_CREDIT), encoding="utf-8")
        print(f"wrote {args.out}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
