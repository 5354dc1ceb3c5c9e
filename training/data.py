"""PTB-XL -> preprocessed, cached windows for training.

Two sources make all of PTB-XL folds 1-9: records at 500 Hz in PhysioNet's layout
(``records500/``), and the rest at 100 Hz as one 8-lead FLAC file per fold (``ptbxl100/``, see
../shared/data/ptbxl100/README.md). The cache holds each record once, already conditioned by
:func:`ecg12.preprocess.preprocess` (the runtime's own code) at the model's rate, as int16
microvolts of the eight independent leads, plus the rate it was recorded at and its Lead I as a
100 Hz recording would give it (the same for 100 Hz records; 500 Hz records taken down to 100 Hz
first), so training can show the model both bands. Epochs then draw random crops from memory.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ecg12.dsp import resample
from ecg12.leads import INDEPENDENT_LEADS, LEAD_NAMES, derive_limb_leads, to_standard_order
from ecg12.preprocess import PreprocessSpec, preprocess
from ecg12.writers import atomic_file

TRAIN_FOLDS = (1, 2, 3, 4, 5, 6, 7, 8)
VALID_FOLD = 9
TEST_FOLD = 10
DEFAULT_CACHE = Path(os.environ.get("ECG12_TRAIN_CACHE", Path.home() / ".cache" / "ecg12-train"))
#: Conditioning of the training data (and so of the shipped EKGAN v1): 250 Hz, 512-sample windows.
DEFAULT_SPEC = PreprocessSpec(fs=250.0, window=512, stride=256, highpass_hz=0.5, lowpass_hz=100.0)
_INDEPENDENT = [LEAD_NAMES.index(n) for n in INDEPENDENT_LEADS]
#: The low rate of PTB-XL (``records100``, ``ptbxl100/``): nothing above 50 Hz survives it.
LOW_RATE = 100.0
#: Records of the 500 Hz subset that PTB-XL 1.0.3 removed as duplicates of other records.
DUPLICATES_1_0_1 = frozenset([*range(137, 146), *range(456, 463)])


@dataclass(frozen=True)
class PtbxlRecord:
    ecg_id: int
    patient_id: int
    fold: int
    path: Path  # record path without extension, e.g. .../records500/00000/00001_hr
    scp_codes: dict[str, float]


def read_index(root: Path, high_rate: bool = True) -> list[PtbxlRecord]:
    """Rows of ``ptbxl_database.csv`` whose signal files are present (subsets and the full set)."""
    column = "filename_hr" if high_rate else "filename_lr"
    records = []
    with open(root / "ptbxl_database.csv", newline="") as f:
        for row in csv.DictReader(f):
            path = root / row[column]
            if not path.with_suffix(".hea").exists():
                continue
            records.append(
                PtbxlRecord(
                    ecg_id=int(row["ecg_id"]),
                    patient_id=int(float(row["patient_id"])),
                    fold=int(row["strat_fold"]),
                    path=path,
                    scp_codes=ast.literal_eval(row["scp_codes"]),
                )
            )
    return records


def load_record(path: Path) -> tuple[np.ndarray, float]:
    """One record's 12 leads in the standard order (samples x 12, mV) and its rate."""
    import wfdb

    rec = wfdb.rdrecord(str(path))
    return to_standard_order(rec.p_signal, rec.sig_name), float(rec.fs)


def condition(leads_mv: np.ndarray, fs: float, spec: PreprocessSpec) -> np.ndarray:
    """The eight independent leads conditioned as the runtime conditions Lead I (samples x 8).

    Returned in mV (the model's scale undone), so the cache and every crop are in mV whatever
    ``spec.scale_mv`` is; :class:`training.train.Trainer` converts to model units.
    """
    return conditioned_mv(leads_mv[:, _INDEPENDENT], fs, spec, axis=0)


def conditioned_mv(x_mv: np.ndarray, fs: float, spec: PreprocessSpec, axis: int) -> np.ndarray:
    """:func:`ecg12.preprocess.preprocess` along ``axis`` (time), left in mV."""
    return preprocess(x_mv, fs, spec, axis=axis) * np.float32(spec.scale_mv)


def expand(eight: np.ndarray) -> np.ndarray:
    """(..., samples, 8) independent leads -> (..., samples, 12) in the standard order."""
    shape = eight.shape[:-1] + (12,)
    full = np.zeros(shape, dtype=np.float32)
    full[..., _INDEPENDENT] = eight
    flat = full.reshape(-1, 12)
    return derive_limb_leads(flat, copy=False).reshape(shape)


def to_microvolts(mv: np.ndarray) -> np.ndarray:
    """The cache's storage: int16 µV (rounded, clipped to ±32.8 mV)."""
    return np.clip(np.round(mv * 1000), -32768, 32767).astype(np.int16)


def low_band_lead_i(lead_i_mv: np.ndarray, fs: float, spec: PreprocessSpec) -> np.ndarray:
    """Lead I as a 100 Hz recording of it would reach the model (mV, ``spec`` conditioning)."""
    down = resample(lead_i_mv, fs, LOW_RATE)
    # Rounded to whole µV, as PTB-XL stores its 100 Hz records.
    return conditioned_mv(np.round(down * 1000) / 1000, LOW_RATE, spec, axis=0)


@dataclass
class Cache:
    """Conditioned records: ``signals`` (records, samples, 8) int16 µV plus their ids and folds.

    ``source_fs`` is each record's recorded rate (500 or 100); ``lead_i_low`` (records, samples)
    its Lead I as a 100 Hz recording gives it, in int16 µV.
    """

    signals: np.ndarray
    ecg_id: np.ndarray
    fold: np.ndarray
    spec: PreprocessSpec
    source_fs: np.ndarray
    lead_i_low: np.ndarray

    def select(self, folds: tuple[int, ...], source_fs: float | None = None) -> np.ndarray:
        """Records of ``folds`` (recorded at ``source_fs`` only, if given)."""
        keep = np.isin(self.fold, folds)
        if source_fs is not None:
            keep &= self.source_fs == source_fs
        return np.flatnonzero(keep)

    def leads_mv(self, idx: np.ndarray) -> np.ndarray:
        """Records ``idx`` as (n, samples, 12) float32 mV, limb leads derived from I and II."""
        return expand(self.signals[idx].astype(np.float32) / 1000.0)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)

        # First differences of µV compress ~30 % better than the samples themselves, which keeps
        # folds 1-9 small enough to carry to a lent GPU machine.
        def delta(x: np.ndarray) -> np.ndarray:
            return np.diff(x, axis=1, prepend=np.int16(0)).astype(np.int16)

        with atomic_file(path) as f:
            np.savez_compressed(
                f,
                delta=delta(self.signals),
                delta_lead_i_low=delta(self.lead_i_low),
                ecg_id=self.ecg_id,
                fold=self.fold,
                source_fs=self.source_fs,
                spec=json.dumps(self.spec.to_dict()),
            )

    @classmethod
    def load(cls, path: Path) -> Cache:
        with np.load(path) as z:
            if "source_fs" not in z:
                raise ValueError(f"{path}: a cache from before ecg12 0.2 (no rates); rebuild it")
            return cls(
                np.cumsum(z["delta"], axis=1, dtype=np.int16),
                z["ecg_id"],
                z["fold"],
                PreprocessSpec.from_dict(json.loads(str(z["spec"]))),
                z["source_fs"],
                np.cumsum(z["delta_lead_i_low"], axis=1, dtype=np.int16),
            )

    def take(self, idx: np.ndarray) -> Cache:
        """The records ``idx`` only."""
        return Cache(
            self.signals[idx],
            self.ecg_id[idx],
            self.fold[idx],
            self.spec,
            self.source_fs[idx],
            self.lead_i_low[idx],
        )

    @classmethod
    def concat(cls, parts: list[Cache]) -> Cache:
        """One cache of several (same conditioning, same record length)."""
        if len({p.spec for p in parts}) != 1 or len({p.signals.shape[1] for p in parts}) != 1:
            raise ValueError("caches differ in conditioning or record length")
        return cls(
            *(
                np.concatenate([getattr(p, k) for p in parts])
                for k in ("signals", "ecg_id", "fold")
            ),
            parts[0].spec,
            np.concatenate([p.source_fs for p in parts]),
            np.concatenate([p.lead_i_low for p in parts]),
        )


def build_cache(
    root: Path, spec: PreprocessSpec, folds: tuple[int, ...], limit: int | None = None
) -> Cache:
    """Read and condition every present record of ``folds`` (10 s each, as PTB-XL ships them)."""
    index = [r for r in read_index(root) if r.fold in folds][:limit]
    signals, low, ids, fold = [], [], [], []
    t0 = time.time()
    for i, rec in enumerate(index):
        leads, fs = load_record(rec.path)
        signals.append(to_microvolts(condition(leads, fs, spec)))
        low.append(to_microvolts(low_band_lead_i(leads[:, 0], fs, spec)))
        ids.append(rec.ecg_id)
        fold.append(rec.fold)
        if (i + 1) % 250 == 0:
            print(f"  {i + 1}/{len(index)} records, {time.time() - t0:.0f} s", flush=True)
    n = min(len(s) for s in signals)
    return Cache(
        np.stack([s[:n] for s in signals]),
        np.asarray(ids),
        np.asarray(fold),
        spec,
        np.full(len(ids), fs if index else 0.0),
        np.stack([s[:n] for s in low]),
    )


class LowRateRow(NamedTuple):
    ecg_id: int
    fold: int
    row: int


def read_low_rate_index(root: Path) -> list[LowRateRow]:
    """``ptbxl100/index.csv``: each record's id, fold and place in its fold's FLAC file."""
    with open(root / "index.csv", newline="") as f:
        return [
            LowRateRow(int(r["ecg_id"]), int(r["strat_fold"]), int(r["row"]))
            for r in csv.DictReader(f)
        ]


def read_low_rate_fold(
    root: Path, fold: int, limit: int | None = None
) -> tuple[list[LowRateRow], np.ndarray]:
    """One fold of ``ptbxl100/``: its index rows and records (n, 1000, 8) in mV at 100 Hz
    (I, II, V1-V6), in index order; none if the fold is absent."""
    import soundfile

    rows = [r for r in read_low_rate_index(root) if r.fold == fold][:limit]
    path = root / f"fold{fold}.flac"
    if not rows or not path.exists():
        return [], np.zeros((0, int(10 * LOW_RATE), len(INDEPENDENT_LEADS)))
    samples, fs = soundfile.read(str(path), dtype="int16")
    if fs != LOW_RATE or samples.shape[1] != len(INDEPENDENT_LEADS):
        raise ValueError(f"{path}: expected 8 channels at 100 Hz, got {samples.shape} at {fs}")
    per_record = samples.reshape(-1, int(10 * LOW_RATE), samples.shape[1])
    return rows, per_record[[r.row for r in rows]].astype(np.float64) / 1000


def build_low_rate_cache(
    root: Path, spec: PreprocessSpec, folds: tuple[int, ...], limit: int | None = None
) -> Cache:
    """Condition the 100 Hz records of ``folds`` (``ptbxl100/``: I, II, V1-V6 in µV per fold)."""
    parts = []
    for fold in folds:
        t0 = time.time()
        rows, records = read_low_rate_fold(root, fold, limit)
        if not rows:
            continue
        signals = np.concatenate(
            [
                to_microvolts(conditioned_mv(records[s : s + 512], LOW_RATE, spec, axis=1))
                for s in range(0, len(records), 512)
            ]
        )
        parts.append(
            Cache(
                signals,
                np.array([r.ecg_id for r in rows]),
                np.full(len(rows), fold),
                spec,
                np.full(len(rows), LOW_RATE),
                signals[:, :, 0].copy(),
            )
        )
        print(f"  fold {fold}: {len(rows)} records at 100 Hz, {time.time() - t0:.0f} s", flush=True)
    return Cache.concat(parts)


def describe(cache: Cache, train_idx: np.ndarray, valid_idx: np.ndarray) -> str:
    """What a run learned from and was selected on, for its model card."""

    def count(idx: np.ndarray) -> str:
        rates = [f"{(cache.source_fs[idx] == r).sum():,} at {r:g} Hz" for r in (500.0, LOW_RATE)]
        return f"{len(idx):,} records: " + ", ".join(rates)

    folds = "-".join(str(f) for f in (min(cache.fold[train_idx]), max(cache.fold[train_idx])))
    return (
        f"PTB-XL 1.0.3, folds {folds} train ({count(train_idx)}), fold {VALID_FOLD} selection "
        f"({count(valid_idx)})"
    )


class Crops(NamedTuple):
    """Training windows: the 12 target leads (n, window, 12) mV, the Lead I the model is given
    (n, window) mV, whether each target was recorded at 100 Hz (n,) float32 0/1, so that its
    loss ignores what the model puts above 50 Hz, and which leads the model is given (n, 12)
    float32 0/1 (Lead I alone, except for the any-lead model)."""

    leads: np.ndarray
    lead_i: np.ndarray
    low_band: np.ndarray
    present: np.ndarray


def random_crops(
    cache: Cache,
    idx: np.ndarray,
    crops_per_record: int,
    rng: np.random.Generator,
    window: int | None = None,
    low_band_input: float = 0.0,
    draw_present: Callable[[np.random.Generator, int], np.ndarray] | None = None,
) -> Crops:
    """One epoch of training windows: ``crops_per_record`` random crops of each record, shuffled.

    With probability ``low_band_input`` a 500 Hz record's input is its Lead I as a 100 Hz
    recording gives it, while its target keeps the full band: the model learns to answer a
    100-128 Hz wearable as it answers a 500 Hz recorder. ``window`` defaults to the cache's.
    ``draw_present(rng, n)`` draws the given leads of each window (default: Lead I).
    """
    window = window or cache.spec.window
    rec = np.repeat(idx, crops_per_record)
    rng.shuffle(rec)
    start = rng.integers(0, cache.signals.shape[1] - window + 1, size=len(rec))
    low_in = rng.random(len(rec)) < low_band_input
    crops = np.stack([cache.signals[r, s : s + window] for r, s in zip(rec, start, strict=True)])
    leads = expand(crops.astype(np.float32) / 1000.0)
    lead_i = leads[:, :, 0].copy()
    for k in np.flatnonzero(low_in):
        lead_i[k] = cache.lead_i_low[rec[k], start[k] : start[k] + window] / np.float32(1000)
    low_band = (cache.source_fs[rec] == LOW_RATE).astype(np.float32)
    present = lead_i_only(len(rec)) if draw_present is None else draw_present(rng, len(rec))
    return Crops(leads, lead_i, low_band, present)


def lead_i_only(n: int) -> np.ndarray:
    """(n, 12) presence masks of Lead I alone."""
    present = np.zeros((n, 12), np.float32)
    present[:, 0] = 1.0
    return present


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Condition PTB-XL once and cache it for training.")
    parser.add_argument(
        "--ptbxl", type=Path, required=True, help="PTB-XL root (ptbxl_database.csv)"
    )
    parser.add_argument(
        "--ptbxl100", type=Path, default=None, help="ptbxl100/ (the 100 Hz records), optional"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_CACHE / "ptbxl-250hz.npz")
    parser.add_argument("--folds", default="1,2,3,4,5,6,7,8,9", help="never add the test fold here")
    parser.add_argument(
        "--limit", type=int, default=None, help="first N records only (smoke tests)"
    )
    args = parser.parse_args(argv)
    folds = tuple(int(f) for f in args.folds.split(","))
    if TEST_FOLD in folds:
        raise SystemExit(f"fold {TEST_FOLD} is the test fold: never cache it for training")
    cache = build_cache(args.ptbxl, DEFAULT_SPEC, folds, args.limit)
    keep = ~np.isin(cache.ecg_id, list(DUPLICATES_1_0_1))
    cache = cache.take(np.flatnonzero(keep))
    if args.ptbxl100:
        cache = Cache.concat(
            [cache, build_low_rate_cache(args.ptbxl100, DEFAULT_SPEC, folds, args.limit)]
        )
    cache.save(args.out)
    print(
        f"cached {len(cache.ecg_id)} records {cache.signals.shape} -> {args.out} "
        f"({args.out.stat().st_size / 2**20:.1f} MiB)"
    )


if __name__ == "__main__":
    main()
