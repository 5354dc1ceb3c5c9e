"""PTB-XL in PhysioNet's layout -> preprocessed, cached windows for training.

The cache holds each record once, already conditioned by :func:`ecg12.preprocess.preprocess`
(the runtime's own code), as int16 microvolts of the eight independent leads. Epochs then draw
random crops from memory instead of re-reading thousands of WFDB files.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
    return preprocess(leads_mv[:, _INDEPENDENT], fs, spec, axis=0) * np.float32(spec.scale_mv)


def expand(eight: np.ndarray) -> np.ndarray:
    """(..., samples, 8) independent leads -> (..., samples, 12) in the standard order."""
    shape = eight.shape[:-1] + (12,)
    full = np.zeros(shape, dtype=np.float32)
    full[..., _INDEPENDENT] = eight
    flat = full.reshape(-1, 12)
    return derive_limb_leads(flat).reshape(shape)


@dataclass
class Cache:
    """Conditioned records: ``signals`` (records, samples, 8) int16 µV plus their ids and folds."""

    signals: np.ndarray
    ecg_id: np.ndarray
    fold: np.ndarray
    spec: PreprocessSpec

    def select(self, folds: tuple[int, ...]) -> np.ndarray:
        return np.flatnonzero(np.isin(self.fold, folds))

    def leads_mv(self, idx: np.ndarray) -> np.ndarray:
        """Records ``idx`` as (n, samples, 12) float32 mV, limb leads derived from I and II."""
        return expand(self.signals[idx].astype(np.float32) / 1000.0)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # First differences of µV compress ~30 % better than the samples themselves, which keeps
        # folds 1-9 small enough to carry to a lent GPU machine.
        delta = np.diff(self.signals, axis=1, prepend=np.int16(0)).astype(np.int16)
        with atomic_file(path) as f:
            np.savez_compressed(
                f,
                delta=delta,
                ecg_id=self.ecg_id,
                fold=self.fold,
                spec=json.dumps(self.spec.to_dict()),
            )

    @classmethod
    def load(cls, path: Path) -> Cache:
        with np.load(path) as z:
            signals = np.cumsum(z["delta"], axis=1, dtype=np.int16)
            return cls(
                signals,
                z["ecg_id"],
                z["fold"],
                PreprocessSpec.from_dict(json.loads(str(z["spec"]))),
            )


def build_cache(
    root: Path, spec: PreprocessSpec, folds: tuple[int, ...], limit: int | None = None
) -> Cache:
    """Read and condition every present record of ``folds`` (10 s each, as PTB-XL ships them)."""
    index = [r for r in read_index(root) if r.fold in folds][:limit]
    signals, ids, fold = [], [], []
    t0 = time.time()
    for i, rec in enumerate(index):
        leads, fs = load_record(rec.path)
        signals.append(
            np.clip(np.round(condition(leads, fs, spec) * 1000), -32768, 32767).astype(np.int16)
        )
        ids.append(rec.ecg_id)
        fold.append(rec.fold)
        if (i + 1) % 250 == 0:
            print(f"  {i + 1}/{len(index)} records, {time.time() - t0:.0f} s", flush=True)
    n = min(len(s) for s in signals)
    return Cache(np.stack([s[:n] for s in signals]), np.asarray(ids), np.asarray(fold), spec)


def random_crops(
    cache: Cache,
    idx: np.ndarray,
    crops_per_record: int,
    rng: np.random.Generator,
    window: int | None = None,
) -> np.ndarray:
    """One epoch of training windows: ``crops_per_record`` random crops of each record, shuffled.

    Returns (windows, window, 12) float32 mV; ``window`` defaults to the cache's.
    """
    window = window or cache.spec.window
    rec = np.repeat(idx, crops_per_record)
    rng.shuffle(rec)
    start = rng.integers(0, cache.signals.shape[1] - window + 1, size=len(rec))
    crops = np.stack([cache.signals[r, s : s + window] for r, s in zip(rec, start, strict=True)])
    return expand(crops.astype(np.float32) / 1000.0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Condition PTB-XL once and cache it for training.")
    parser.add_argument(
        "--ptbxl", type=Path, required=True, help="PTB-XL root (ptbxl_database.csv)"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_CACHE / "ptbxl-250hz.npz")
    parser.add_argument("--folds", default="1,2,3,4,5,6,7,8,9", help="never add the test fold here")
    parser.add_argument(
        "--limit", type=int, default=None, help="first N records only (smoke tests)"
    )
    args = parser.parse_args(argv)
    folds = tuple(int(f) for f in args.folds.split(","))
    cache = build_cache(args.ptbxl, DEFAULT_SPEC, folds, args.limit)
    cache.save(args.out)
    print(
        f"cached {len(cache.ecg_id)} records {cache.signals.shape} -> {args.out} "
        f"({args.out.stat().st_size / 2**20:.1f} MiB)"
    )


if __name__ == "__main__":
    main()
