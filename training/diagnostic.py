"""Diagnostic fidelity: does a reconstructed 12-lead ECG carry diagnostic information that
Lead I alone does not, or does it only look as if it does?

    python -m training.diagnostic --ptbxl /work/shared/data/ptbxl \\
        --ptbxl100 /work/shared/data/ptbxl100 --model ekgan --model ekgan-2.0.0 --model linear \\
        --out docs/diagnostic.md --json docs/diagnostic.json

A small 1-D CNN learns PTB-XL's five diagnostic superclasses (multi-label) from the real 12 leads
of folds 1-7 (fold 8 stops training early), a second one with the same architecture from Lead I
only. Both are scored by AUROC on fold 9 with the real leads, with real Lead I plus the 11 leads
each named model reconstructs (through the public API, conditioned exactly as the cache), and
with Lead I alone. Fold 9 is the reconstruction models' selection fold, never seen by the
classifiers. Without ``--ptbxl100`` only the 500 Hz subset is used; with it, all of folds 1-9
(the 100 Hz records too), every classifier input low-passed so that both rates hold the same
band, and fold 9 is also scored by rate. Trained weights are kept under
``~/.cache/ecg12-train/diagnostic/`` (``--reuse``).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import itertools
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import keras
import numpy as np
from scipy import signal

import ecg12
from ecg12.preprocess import PreprocessSpec
from training import harness
from training.data import (
    DEFAULT_CACHE,
    LOW_RATE,
    VALID_FOLD,
    Cache,
    PtbxlRecord,
    condition,
    expand,
    read_index,
    to_microvolts,
)
from training.harness import (
    FS,
    PTBXL_CREDIT,
    LowRateRecord,
    add_registry_option,
    fold_records,
    machine,
    markdown_table,
    model_sources,
    reconstruct_fold,
    record_leads,
    record_rate,
    write_json,
)
from training.metrics import EVAL_BAND
from training.stats import bootstrap_macro, macro_auroc

SUPERCLASSES = ("NORM", "MI", "STTC", "CD", "HYP")
FIT_FOLDS = (1, 2, 3, 4, 5, 6, 7)
STOP_FOLD = 8  # early stopping; patients never cross folds, so this is a clean hold-out
#: Where the classifiers are scored: fold 9, the reconstruction models' selection fold, which the
#: classifiers never see (PTB-XL's test fold, training.data.SCORE_FOLD, is never used here).
SCORE_FOLD = VALID_FOLD
DEFAULT_MODELS = ("ekgan", "linear")
WEIGHTS_DIR = DEFAULT_CACHE / "diagnostic"
#: With ptbxl100, every classifier input is low-passed here (zero-phase Butterworth): 100 Hz
#: records hold nothing above 50 Hz, so the 500 Hz ones must not either, or the classifiers could
#: tell the two apart and the parts would not be scored on the same band. The top of the band
#: every reconstruction score uses (training.metrics.EVAL_BAND).
LOWPASS_HZ = EVAL_BAND[1]
LOWPASS_ORDER = 6  # at 250 Hz, both passes: -1.2 dB at 35 Hz, -29 dB at 50 Hz
#: ~15,000 records make an epoch ~7x the subset's (about a minute on 2 cores); at 12 epochs the
#: Lead I classifier was still improving at its last epoch, so up to 20, stopped by patience.
FULL_DATA_EPOCHS, FULL_DATA_PATIENCE = 20, 3
#: Records per chunk when turning cached int16 records into classifier inputs (bounds memory).
CHUNK = 1024


@dataclass(frozen=True)
class FitConfig:
    """Everything that defines a classifier; weights are reused only when it (and the data)
    match."""

    filters: tuple[int, ...] = (32, 64, 64, 128, 128)
    kernel: int = 7
    dropout: float = 0.3
    epochs: int = 30  # at most; early stopping on fold 8's macro AUROC usually ends sooner
    patience: int = 5
    batch_size: int = 32
    lr: float = 1e-3
    seed: int = 0
    lowpass_hz: float | None = None  # every input low-passed here (with ptbxl100), else not


def row_labels(models: list[str]) -> dict[str, str]:
    """Row key -> label in the table: the real leads, each model's reconstruction, Lead I."""
    recon = {m: f"Lead I + {m} reconstruction" for m in models}
    return {"real": "real 12-lead", **recon, "lead_i": "Lead I alone"}


def row_pairs(models: list[str]) -> list[tuple[str, str]]:
    """Paired differences in macro AUROC: the gain over Lead I alone, the gap to the real
    leads, and each pair of reconstructing models."""
    return [
        ("real", "lead_i"),
        *((m, "lead_i") for m in models),
        *((m, "real") for m in models),
        *itertools.combinations(models, 2),
    ]


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


def low_rate_label_table(ptbxl100: Path) -> dict[int, np.ndarray]:
    """ecg_id -> (5,) labels of every ``ptbxl100/`` record, from its ``index.csv``.

    That folder has no ``scp_codes``: its superclass columns were filled by the same
    aggregation as :func:`superclass_labels` (its README), so they are read as they are.
    """
    with open(ptbxl100 / "index.csv", newline="") as f:
        table = {
            int(r["ecg_id"]): np.array([int(r[c]) for c in SUPERCLASSES], dtype=np.float32)
            for r in csv.DictReader(f)
        }
    if any(not np.isin(y, (0, 1)).all() for y in table.values()):
        raise ValueError(f"{ptbxl100 / 'index.csv'}: superclass columns must be 0 or 1")
    return table


def study_labels(ptbxl: Path, ptbxl100: Path | None) -> dict[int, np.ndarray]:
    """Labels of the 500 Hz records and, with ``ptbxl100``, of the 100 Hz ones."""
    labels = label_table(ptbxl)
    if ptbxl100 is not None:
        low = low_rate_label_table(ptbxl100)
        if both := labels.keys() & low.keys():
            raise ValueError(f"records in both folders (e.g. ecg_id {min(both)})")
        labels |= low
    return labels


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
        "cpu": machine(),
        "load_average_start": round(load, 2),
        "load_average_end": round(os.getloadavg()[0], 2),
        "history": history,
    }


def data_key(data: tuple[np.ndarray, ...]) -> str:
    """SHA-256 of the training and early-stopping arrays (shapes, types and values): the
    records, their labels, conditioning and band all change it."""
    digest = hashlib.sha256()
    for a in data:
        digest.update(f"{a.shape}{a.dtype.str}".encode())
        digest.update(np.ascontiguousarray(a).data)
    return digest.hexdigest()


def load_or_fit(
    name: str, data: tuple[np.ndarray, ...], cfg: FitConfig, weights_dir: Path, reuse: bool
) -> tuple[keras.Model, dict]:
    """The cached classifier when ``reuse`` and its config and data match, else a fresh fit
    (then cached)."""
    weights = weights_dir / f"{name}.npz"
    meta_path = weights_dir / f"{name}.json"
    key = data_key(data)
    if reuse and weights.is_file() and meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        if meta["config"] == json.loads(json.dumps(asdict(cfg))) and meta.get("data") == key:
            model = build_classifier(data[0].shape[-1], cfg, data[0].shape[1])
            with np.load(weights) as z:
                model.set_weights([z[f"w{i}"] for i in range(len(z.files))])
            print(f"{name}: reusing {weights}", flush=True)
            return model, meta
        print(f"{name}: cached config or data differ; training again", flush=True)
    model, meta = fit_classifier(*data, cfg)
    meta["data"] = key
    weights_dir.mkdir(parents=True, exist_ok=True)
    # The layer weights alone (no optimizer state): all that scoring a cached classifier needs.
    np.savez(weights, **{f"w{i}": w for i, w in enumerate(model.get_weights())})
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
    return model, meta


def predict(model: keras.Model, x: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(x, batch_size=64, verbose=0), dtype=np.float64)


# ---------------------------------------------------------------- inputs


def cached_form(leads_mv: np.ndarray, fs: float, spec: PreprocessSpec, samples: int) -> np.ndarray:
    """One record's 12 leads (mV at ``fs``) -> its eight independent leads exactly as the
    training cache stores them (``training.data.condition``, int16 µV), first ``samples``."""
    return to_microvolts(condition(leads_mv, fs, spec))[:samples]


def lowpass_sos(lowpass_hz: float, fs: float) -> np.ndarray:
    """The Butterworth low-pass that :func:`classifier_view` runs forwards and backwards."""
    return signal.butter(LOWPASS_ORDER, lowpass_hz, fs=fs, output="sos")


def lowpass_db(lowpass_hz: float, fs: float, hz: float) -> float:
    """Gain in dB of the zero-phase low-pass (both passes) at ``hz``: for the Method text."""
    _, h = signal.sosfreqz(lowpass_sos(lowpass_hz, fs), worN=[hz], fs=fs)
    return float(40 * np.log10(abs(h[0])))


def classifier_view(eight_uv: np.ndarray, fs: float, lowpass_hz: float | None) -> np.ndarray:
    """Records in cached form (n, samples, 8) -> classifier inputs (n, samples, 12) float32 mV.

    Limb leads III, aVR, aVL, aVF are derived from I and II, as in the cache. With
    ``lowpass_hz`` the eight leads are low-passed first (the derived ones follow: the filter is
    linear); the same call serves training and every row, so all inputs share one band.
    """
    sos = None if lowpass_hz is None else lowpass_sos(lowpass_hz, fs)
    out = np.empty((*eight_uv.shape[:2], 12), dtype=np.float32)
    for start in range(0, len(eight_uv), CHUNK):  # chunks bound the float copies' memory
        x = eight_uv[start : start + CHUNK].astype(np.float32) / np.float32(1000)
        if sos is not None:
            x = signal.sosfiltfilt(sos, x, axis=1).astype(np.float32)
        out[start : start + CHUNK] = expand(x)
    return out


@dataclass
class FoldInputs:
    """Fold 9 in cached form (records, samples, 8) int16 µV, with each record's id and the
    rate it was recorded at."""

    ecg_ids: np.ndarray
    source_fs: np.ndarray
    real: np.ndarray
    hybrid: dict[str, np.ndarray]  # model -> real Lead I + the seven leads it reconstructed
    facts: dict[str, dict]  # model -> version, refusals, seconds


def fold_inputs(
    records: list[PtbxlRecord | LowRateRecord],
    sources: list[tuple[str, Path | None]],
    spec: PreprocessSpec,
    samples: int,
) -> FoldInputs:
    """The records' real leads and each model's reconstruction of them.

    Reconstructions come through the public API from each record's real Lead I at the rate it
    was recorded (:func:`training.harness.reconstruct_fold`: 500 Hz, or 100 Hz given as
    ``fs=100``), output at 500 Hz; real leads are conditioned from their own rate, as the cache
    was. Only records every model accepted are kept, so all rows score the same records.
    """
    real = {r.ecg_id: cached_form(record_leads(r), record_rate(r), spec, samples) for r in records}
    rates = {r.ecg_id: record_rate(r) for r in records}
    hybrid: dict[str, dict[int, np.ndarray]] = {}
    facts = {}
    for name, registry in sources:
        model = ecg12.load(name, device="cpu", registry=ecg12.load_registry(registry))
        t0 = time.perf_counter()
        out = reconstruct_fold(model, records)
        seconds = time.perf_counter() - t0
        hybrid[name] = {}
        for ecg_id, rec in zip(out.ecg_ids, out.rec, strict=True):
            eight = cached_form(rec, FS, spec, samples)
            eight[:, 0] = real[ecg_id][:, 0]  # the real Lead I, exactly as rows (a), (c) get it
            hybrid[name][ecg_id] = eight
        facts[name] = {
            "version": model.card.version,
            "refused": len(out.refused),
            "reconstruct_seconds": round(seconds, 1),
        }
    ids = [i for i in real if all(i in h for h in hybrid.values())]
    return FoldInputs(
        np.asarray(ids),
        np.asarray([rates[i] for i in ids]),
        np.stack([real[i] for i in ids]),
        {name: np.stack([h[i] for i in ids]) for name, h in hybrid.items()},
        facts,
    )


# ---------------------------------------------------------------- study


def study_records(
    cache: Cache, folds: tuple[int, ...], rates: tuple[float, ...], limit: int | None
) -> np.ndarray:
    """Cache rows of ``folds`` recorded at ``rates``, in cache order; with ``limit``, the first
    ``limit`` of each fold and rate (a smoke test's slice)."""
    return np.sort(np.concatenate([cache.select((f,), r)[:limit] for f in folds for r in rates]))


def rate_parts(source_fs: np.ndarray) -> dict[str, np.ndarray]:
    """Positions of each recorded rate's records, highest rate first ("500 Hz", "100 Hz")."""
    rates = sorted(set(source_fs.tolist()), reverse=True)
    return {f"{r:g} Hz": np.flatnonzero(source_fs == r) for r in rates}


def label_rows(labels: dict[int, np.ndarray], ids: np.ndarray) -> np.ndarray:
    """(records, 5) labels in the order of ``ids``."""
    return np.stack([labels[int(i)] for i in ids])


def score_inputs(
    y: np.ndarray,
    scores: dict[str, np.ndarray],
    models: list[str],
    n_boot: int,
    seed: int,
) -> dict:
    """Macro and per-class AUROC of each input, bootstrap CIs and the paired differences."""
    labels = row_labels(models)
    rows = {}
    for key, s in scores.items():
        macro, per_class = macro_auroc(y, s)
        rows[key] = {
            "label": labels[key],
            "macro": macro,
            "per_class": dict(zip(SUPERCLASSES, per_class, strict=True)),
        }
    boot = bootstrap_macro(y, scores, row_pairs(models), n_boot, seed=seed)
    for key, ci in boot["ci"].items():
        rows[key]["macro_ci"] = ci
    return {"records": len(y), "rows": rows, "differences": boot["differences"]}


def class_counts(groups: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, dict]:
    """Records and positives per class of each (labels, recorded rates) group, and of each
    rate's part where a group mixes rates."""
    counts = {}
    for name, (y, fs) in groups.items():
        parts = rate_parts(fs)
        named = {name: np.arange(len(y))}
        if len(parts) > 1:
            named |= {f"{name}, {rate} part": idx for rate, idx in parts.items()}
        for label, idx in named.items():
            per_class = {c: int(y[idx, j].sum()) for j, c in enumerate(SUPERCLASSES)}
            counts[label] = per_class | {"records": len(idx)}
    return counts


def run(
    ptbxl: Path,
    cache_path: Path,
    cfg: FitConfig,
    weights_dir: Path,
    reuse: bool,
    n_boot: int,
    *,
    ptbxl100: Path | None = None,
    sources: list[tuple[str, Path | None]] | None = None,
    limit: int | None = None,
) -> dict:
    """Train (or reuse) both classifiers, score every input on fold 9 and, with ``ptbxl100``,
    on each rate's part of it; bootstrap the CIs."""
    sources = sources or [(name, None) for name in DEFAULT_MODELS]
    models = [name for name, _ in sources]
    cache = Cache.load(cache_path)
    rates = (FS, LOW_RATE) if ptbxl100 is not None else (FS,)
    if ptbxl100 is not None and not (cache.source_fs == LOW_RATE).any():
        raise ValueError(f"{cache_path}: no 100 Hz records; build it with --ptbxl100")
    labels = study_labels(ptbxl, ptbxl100)
    chosen = study_records(cache, (*FIT_FOLDS, STOP_FOLD), rates, limit)
    has_label = np.array([labels[int(i)].any() for i in cache.ecg_id[chosen]], dtype=bool)
    kept = chosen[has_label]
    fit = kept[np.isin(cache.fold[kept], FIT_FOLDS)]
    stop = kept[cache.fold[kept] == STOP_FOLD]
    y_fit, y_stop = label_rows(labels, cache.ecg_id[fit]), label_rows(labels, cache.ecg_id[stop])
    spec, low = cache.spec, cfg.lowpass_hz
    x_fit = classifier_view(cache.signals[fit], spec.fs, low)
    x_stop = classifier_view(cache.signals[stop], spec.fs, low)
    samples = x_fit.shape[1]

    # Fold 9 as the cache holds it (which leaves out PTB-XL 1.0.1's duplicates), labelled only.
    row = {int(e): k for k, e in enumerate(cache.ecg_id)}
    records = fold_records(ptbxl, SCORE_FOLD, limit, ptbxl100=ptbxl100)
    absent = [r.ecg_id for r in records if r.ecg_id not in row]
    unlabelled = [r.ecg_id for r in records if r.ecg_id in row and not labels[r.ecg_id].any()]
    records = [r for r in records if r.ecg_id in row and labels[r.ecg_id].any()]
    test = fold_inputs(records, sources, spec, samples)
    # The fold-9 inputs took the cache's path from the raw records; they must agree with it.
    cached = cache.signals[[row[int(i)] for i in test.ecg_ids]].astype(np.int32)
    if np.abs(cached - test.real).max() > 2:  # µV
        raise RuntimeError("fold-9 inputs differ from the cache; conditioning has drifted")
    y_test = label_rows(labels, test.ecg_ids)
    real = classifier_view(test.real, spec.fs, low)

    suffix = "-all" if ptbxl100 is not None else ""  # the subset's weights stay cached beside
    scores: dict[str, np.ndarray] = {}
    model12, meta12 = load_or_fit(
        f"lead12{suffix}", (x_fit, y_fit, x_stop, y_stop), cfg, weights_dir, reuse
    )
    scores["real"] = predict(model12, real)
    for name in models:
        scores[name] = predict(model12, classifier_view(test.hybrid[name], spec.fs, low))
    lead1_data = (x_fit[..., :1].copy(), y_fit, x_stop[..., :1].copy(), y_stop)
    del x_fit, x_stop  # the 12-lead arrays are the largest in memory (~1.8 GB with ptbxl100)
    model1, meta1 = load_or_fit(f"lead1{suffix}", lead1_data, cfg, weights_dir, reuse)
    scores["lead_i"] = predict(model1, real[..., :1].copy())

    total = score_inputs(y_test, scores, models, n_boot, cfg.seed)
    parts = rate_parts(test.source_fs)
    by_part = {  # only where fold 9 mixes rates: one part would repeat the whole fold
        name: score_inputs(
            y_test[idx], {k: s[idx] for k, s in scores.items()}, models, n_boot, cfg.seed
        )
        for name, idx in parts.items()
        if len(parts) > 1
    }
    fit_fs, stop_fs = cache.source_fs[fit], cache.source_fs[stop]
    return {
        "rows": total["rows"],
        "differences": total["differences"],
        "parts": by_part,
        "models": models,
        "bootstrap": n_boot,
        "class_counts": class_counts(
            {
                "fit (folds 1-7)": (y_fit, fit_fs),
                f"early stop (fold {STOP_FOLD})": (y_stop, stop_fs),
                f"test (fold {SCORE_FOLD})": (y_test, test.source_fs),
            }
        ),
        "unlabelled_dropped": {"train": int((~has_label).sum()), "test": len(unlabelled)},
        "test_absent_from_cache": absent,
        "limit_records": limit,
        "classifiers": {"lead12": meta12, "lead1": meta1},
        "reconstructors": test.facts,
        "ecg12_version": ecg12.__version__,
        "spec": spec.to_dict(),
        "predictions": {
            "ecg_ids": test.ecg_ids.tolist(),
            "source_fs": test.source_fs.tolist(),
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


def _macro_cell(row: dict, bold: bool = True) -> str:
    lo, hi = row["macro_ci"]
    value = f"**{row['macro']:.3f}**" if bold else f"{row['macro']:.3f}"
    return f"{value} ({lo:.3f}-{hi:.3f})"


def _diff_cell(d: dict) -> str:
    return f"{d['difference']:+.3f} ({d['ci'][0]:+.3f} to {d['ci'][1]:+.3f})"


def render_markdown(res: dict, credit: str) -> str:
    """The docs page: method, AUROC table, differences, counts, timing, conclusion, credit."""
    rows, diffs, clf, parts = res["rows"], res["differences"], res["classifiers"], res["parts"]
    models, counts = res["models"], res["class_counts"]
    part_heads = [f"{name} part (n = {p['records']:,})" for name, p in parts.items()]
    table = markdown_table(
        ["input", "macro AUROC (95 % CI)", *part_heads, *SUPERCLASSES],
        [
            [row["label"], _macro_cell(row)]
            + [_macro_cell(p["rows"][key], bold=False) for p in parts.values()]
            + [f"{row['per_class'][c]:.3f}" for c in SUPERCLASSES]
            for key, row in rows.items()
        ],
    )
    diff_table = markdown_table(
        ["difference", "macro AUROC (95 % CI)", *part_heads],
        [
            [f"{rows[a]['label']} − {rows[b]['label']}", _diff_cell(d)]
            + [_diff_cell(p["differences"][key]) for p in parts.values()]
            for key, d in diffs.items()
            for a, b in [key.split(" - ")]
        ],
    )
    count_table = markdown_table(
        ["records", "n", *SUPERCLASSES],
        [
            [name, str(c["records"]), *(str(c[k]) for k in SUPERCLASSES)]
            for name, c in counts.items()
        ],
    )
    timing = markdown_table(
        [
            "classifier",
            "inputs",
            "parameters",
            "epochs trained",
            "best epoch",
            "train s",
            "s per epoch",
            "load average (start/end)",
        ],
        [
            [
                key,
                inputs,
                f"{m['parameters']:,}",
                str(m["epochs_trained"]),
                str(m["best_epoch"]),
                f"{m['train_seconds']:.0f}",
                f"{m['train_seconds'] / m['epochs_trained']:.0f}",
                f"{m['load_average_start']:.1f} / {m['load_average_end']:.1f}",
            ]
            for key, inputs in (("lead12", "12 leads"), ("lead1", "Lead I"))
            for m in [clf[key]]
        ],
    )
    cfg = clf["lead12"]["config"]
    recon = ", ".join(
        f"{k} {v['version']} ({v['refused']} refused, {v['reconstruct_seconds']:.0f} s incl. "
        "reading)"
        for k, v in res["reconstructors"].items()
    )
    verdicts = " ".join(_verdict(k, diffs[f"{k} - lead_i"]) for k in models)
    real = diffs["real - lead_i"]
    between = [f"{a} - {b}" for a, b in itertools.combinations(models, 2)]
    n_test = counts[f"test (fold {SCORE_FOLD})"]["records"]
    n_fit = counts["fit (folds 1-7)"]["records"]
    full = res.get("ptbxl100") is not None
    dropped = res["unlabelled_dropped"]
    absent = res["test_absent_from_cache"]
    rates = (
        "the 500 Hz records of `ptbxl/` and the 100 Hz records of `ptbxl100/` together, all of "
        "PTB-XL 1.0.3 folds 1-9 each once"
        if full
        else "the 500 Hz subset of `ptbxl/` only"
    )
    limit = (
        f" **Smoke run**: only the first {res['limit_records']} records of each fold in each "
        "folder."
        if res.get("limit_records")
        else ""
    )
    band = (
        f" Then every input (training and rows (a)-(c) alike) is low-passed at "
        f"{cfg['lowpass_hz']:g} Hz (zero-phase Butterworth, order {LOWPASS_ORDER} each way: "
        + ", ".join(
            f"{lowpass_db(cfg['lowpass_hz'], res['spec']['fs'], hz):.0f} dB at {hz:g} Hz"
            for hz in (35.0, cfg["lowpass_hz"], 45.0, 50.0)
        )
        + "): the 100 Hz records hold "
        "nothing above 50 Hz, so without it the 500 Hz records and every reconstruction (output "
        "at 500 Hz) would carry a band the 100 Hz real leads lack: the two parts, and rows (a) "
        "and (b) on the 100 Hz part, would differ in band as well as in content. The corner is "
        "the top of the band every reconstruction score uses."
        if cfg.get("lowpass_hz")
        else ""
    )
    lead12 = clf["lead12"]
    epochs = (
        f"; {FULL_DATA_EPOCHS} epochs and patience {FULL_DATA_PATIENCE} rather than the "
        f"subset's {FitConfig.epochs} and {FitConfig.patience}: an epoch of {n_fit:,} records "
        f"took {lead12['train_seconds'] / lead12['epochs_trained']:.0f} s here (below), so "
        "each classifier's fit stays within about 20 min on 2 CPU cores"
        if full and (cfg["epochs"], cfg["patience"]) == (FULL_DATA_EPOCHS, FULL_DATA_PATIENCE)
        else ""
    )
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
        f"- **Data**: {rates}.{limit}",
        "- **Labels**: PTB-XL's five diagnostic superclasses (NORM, MI, STTC, CD, HYP), "
        "multi-label. A record has a superclass if any code in its `scp_codes` is a diagnostic "
        "statement (`diagnostic` = 1 in `scp_statements.csv`) of that `diagnostic_class`; every "
        "listed code counts whatever its likelihood (0 included), PTB-XL's standard aggregation"
        + (
            " (for the 100 Hz records, `ptbxl100/index.csv`'s superclass columns, made by the "
            "same aggregation)"
            if full
            else ""
        )
        + f". Records with no superclass are left out ({dropped['train']} in folds 1-8, "
        f"{dropped['test']} in fold {SCORE_FOLD})."
        + (
            f" {len(absent)} fold-{SCORE_FOLD} records absent from the training cache (PTB-XL "
            "1.0.1 duplicates it leaves out) are left out too."
            if absent
            else ""
        ),
        f"- **Classifier**: a 1-D CNN ({len(cfg['filters'])} blocks of Conv1D (kernel "
        f"{cfg['kernel']}, filters {', '.join(map(str, cfg['filters']))}, the first strided 2) + "
        "BatchNorm + ReLU + max-pool 2, global average pooling, dropout "
        f"{cfg['dropout']}, 5 sigmoids; Keras {keras.__version__} on TensorFlow), binary "
        f"cross-entropy, Adam {cfg['lr']:g}, batch {cfg['batch_size']}, seed {cfg['seed']}, at "
        f"most {cfg['epochs']} epochs. Trained on the real records of folds 1-7; fold 8 is "
        f"held out for early stopping (patience {cfg['patience']}, best fold-8 macro AUROC "
        f"kept{epochs}). One classifier sees all 12 leads, a second with the same architecture "
        "sees Lead I only.",
        f"- **Inputs**: 10 s at {res['spec']['fs']:g} Hz (2,500 samples), conditioned by "
        f"`ecg12.preprocess` from the rate each record was recorded at "
        f"({res['spec']['highpass_hz']:g}-{res['spec']['lowpass_hz']:g} Hz band-pass, the "
        "training cache's spec), rounded to int16 µV as the cache stores them, mV, limb leads "
        f"III, aVR, aVL, aVF derived from I and II.{band}",
        f"- **Test** (fold {SCORE_FOLD}, {n_test} records): (a) the real 12 leads; (b) the real "
        "Lead I plus the 11 leads each model reconstructs from it through the public API "
        '(`ecg12.load(name, device="cpu").reconstruct_many` on '
        + (
            "each record's Lead I at the rate it was recorded: 500 Hz, or 100 Hz given as "
            "`fs=100`; output at 500 Hz"
            if full
            else "the 500 Hz Lead I"
        )
        + "), brought to 250 Hz and conditioned exactly as the real leads (same "
        "`ecg12.preprocess` call, same int16 µV rounding), into the 12-lead classifier; (c) "
        "Lead I into the Lead I classifier. "
        f"Models: {recon}."
        + (" Each rate's part of the fold is also scored on its own." if parts else ""),
        f"- **Fold {SCORE_FOLD}** is PTB-XL's validation fold and the reconstruction models' "
        "selection fold (each chose its best epoch on it), so row (b) leans slightly "
        f"optimistic; the classifiers never saw fold {SCORE_FOLD}. Fold 10, PTB-XL's test "
        "fold, is not used.",
        "- **AUROC**: per class by the rank-sum (Mann-Whitney) formula with tied scores sharing "
        f"their mean rank; macro = mean of the five. 95 % CIs: percentile bootstrap over "
        f"records ({res['bootstrap']} resamples, the same draws for every input, so differences "
        "are paired" + ("; each part resampled on its own)." if parts else ")."),
        "",
        f"## AUROC on fold {SCORE_FOLD}",
        "",
        *table,
        "",
        *(["Per-class columns are for the whole fold.", ""] if parts else []),
        "## Paired differences",
        "",
        *diff_table,
        "",
        "## Class counts",
        "",
        *count_table,
        "",
        "Classes overlap (multi-label), so a row's classes can sum to more than n.",
        "",
        "## Training",
        "",
        *timing,
        "",
        f"On {clf['lead12']['cpu']}, shared with other work (1-minute load averages above); "
        "times are wall-clock `model.fit` including the per-epoch fold-8 evaluation. Weights "
        "are cached under `~/.cache/ecg12-train/diagnostic/`; `--reuse` skips training when "
        "the config and the training data are the same.",
        "",
        "## Conclusion",
        "",
        f"The real 12 leads score {real['difference']:+.3f} macro AUROC over Lead I alone "
        f"(95 % CI {real['ci'][0]:+.3f} to {real['ci'][1]:+.3f}): that is the diagnostic "
        f"information the other 11 leads hold for this classifier. {verdicts} Against the real "
        "leads the reconstructions give up "
        + " and ".join(f"{-diffs[f'{k} - real']['difference']:.3f} ({k})" for k in models)
        + " macro AUROC."
        + (
            " Between the reconstructions: "
            + "; ".join(f"{k.replace(' - ', ' − ')} {_diff_cell(diffs[k])}" for k in between)
            + "."
            if between
            else ""
        ),
        "",
        "A reconstruction is computed from Lead I alone, so it cannot hold information about "
        "the patient that Lead I lacks. A gain over the Lead I classifier could only come from "
        "the reconstruction model's learned 12-lead prior re-expressing Lead I in a form the "
        "12-lead classifier can use, not from new measurements; the gap to the real leads is "
        "what reconstruction does not recover. Reconstructed leads are not a substitute for "
        "recorded ones in diagnosis.",
        "",
        f"Limits: one small classifier per input, one seed, {n_fit:,} training records"
        + ("" if full else " (a PTB-XL subset)")
        + "; a stronger classifier"
        + ("" if full else " or the full data set")
        + " would change the numbers, and the reconstructions are judged by a classifier "
        "trained on real leads only.",
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
        "--ptbxl100",
        type=Path,
        default=None,
        help="ptbxl100/: learn from and score the 100 Hz records of folds 1-9 too",
    )
    p.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="conditioned folds 1-9 from python -m training.data (default: "
        "ptbxl-all-250hz.npz with --ptbxl100, else ptbxl-250hz.npz, in the training cache)",
    )
    p.add_argument(
        "--model",
        action="append",
        default=[],
        help=f"reconstructing model (repeatable; default: {', '.join(DEFAULT_MODELS)})",
    )
    add_registry_option(p)
    p.add_argument("--weights-dir", type=Path, default=WEIGHTS_DIR)
    p.add_argument(
        "--reuse",
        action="store_true",
        help="load cached classifier weights (same config and data) instead of training",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"at most (default {FitConfig.epochs}, with --ptbxl100 {FULL_DATA_EPOCHS})",
    )
    p.add_argument(
        "--patience",
        type=int,
        default=None,
        help=f"early stopping (default {FitConfig.patience}, with --ptbxl100 {FULL_DATA_PATIENCE})",
    )
    p.add_argument("--seed", type=int, default=FitConfig.seed)
    p.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples of fold 9")
    p.add_argument(
        "--limit-records",
        type=int,
        default=None,
        help="first N records of each fold in each folder only (smoke tests)",
    )
    p.add_argument("--out", type=Path, default=None, help="Markdown page to write")
    p.add_argument("--json", type=Path, default=None, help="results and predictions as JSON")
    args = p.parse_args(argv)
    full = args.ptbxl100 is not None
    cfg = FitConfig(
        epochs=args.epochs or (FULL_DATA_EPOCHS if full else FitConfig.epochs),
        patience=args.patience or (FULL_DATA_PATIENCE if full else FitConfig.patience),
        seed=args.seed,
        lowpass_hz=LOWPASS_HZ if full else None,
    )
    cache = args.cache or DEFAULT_CACHE / ("ptbxl-all-250hz.npz" if full else "ptbxl-250hz.npz")
    try:
        sources = model_sources(args.registry, args.model or list(DEFAULT_MODELS), every=False)
    except (ValueError, ecg12.ModelError) as exc:
        p.error(str(exc))
    result = run(
        args.ptbxl,
        cache,
        cfg,
        args.weights_dir.expanduser(),
        args.reuse,
        args.bootstrap,
        ptbxl100=args.ptbxl100,
        sources=sources,
        limit=args.limit_records,
    )
    result["command"] = harness.command("training.diagnostic", argv)
    result["ptbxl"] = str(args.ptbxl)
    result["ptbxl100"] = str(args.ptbxl100) if full else None
    result["date"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for row in result["rows"].values():
        lo, hi = row["macro_ci"]
        print(f"{row['label']:40s} macro AUROC {row['macro']:.3f} [{lo:.3f}, {hi:.3f}]")
    for name, part in result["parts"].items():
        for row in part["rows"].values():
            lo, hi = row["macro_ci"]
            label = f"{name}: {row['label']}"
            print(f"{label:40s} macro AUROC {row['macro']:.3f} [{lo:.3f}, {hi:.3f}]")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(render_markdown(result, PTBXL_CREDIT), encoding="utf-8")
        print(f"wrote {args.out}")
    if args.json:
        write_json(args.json, result)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
