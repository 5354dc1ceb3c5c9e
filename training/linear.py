"""The linear floor: one least-squares FIR filter per lead from Lead I, exported as an ecg12 model.

    python -m training.linear --ptbxl ../shared/data/ptbxl --out ecg12/models/linear-v1.onnx

Every learned model has to beat this honest baseline. For each independent target lead (II,
V1-V6) a centred 101-tap FIR (taps -50..+50 at 500 Hz) is fitted to Lead I by least squares over
all samples of folds 1-8, via normal equations accumulated record by record. The ONNX graph is one
Conv with 12 output channels: Lead I is an identity tap and III, aVR, aVL, aVF are the matching
combinations of the I and II filters, so the graph itself obeys the limb identities. Fold 9 is
scored through the runtime's own windowing and stitching (:mod:`ecg12.inference`).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ecg12.inference import Predict, finish, infer
from ecg12.leads import INDEPENDENT_LEADS, LEAD_NAMES
from ecg12.preprocess import PreprocessSpec
from training.data import DEFAULT_CACHE, TRAIN_FOLDS, VALID_FOLD, Cache, build_cache, read_index
from training.metrics import score, summary_line

#: The runtime conditions Lead I like this before the model sees it (the card's preprocessing).
SPEC = PreprocessSpec(fs=500.0, window=1024, stride=512, highpass_hz=0.5, lowpass_hz=100.0)
TAPS = 101
#: Ridge as a fraction of the mean diagonal of X^T X: only guards against a singular system.
RIDGE = 1e-6
OPSET = 17
#: Leads the FIR filters predict, in the order of the fitted rows (the cache's columns 1-7).
TARGETS = INDEPENDENT_LEADS[1:]
CACHE_FILE = DEFAULT_CACHE / "ptbxl-500hz.npz"


def lagged(x: np.ndarray, taps: int = TAPS) -> np.ndarray:
    """Rows ``x[t - taps//2 : t + taps//2 + 1]`` for every ``t`` with a full neighbourhood; for
    (n, k) inputs the k neighbourhoods side by side, (n - taps + 1, k * taps)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        return sliding_window_view(x, taps)
    rows = sliding_window_view(x, taps, axis=0)  # (n - taps + 1, k, taps)
    return rows.reshape(len(rows), -1)


def fit_fir(
    pairs: Iterable[tuple[np.ndarray, np.ndarray]],
    taps: int = TAPS,
    ridge: float = RIDGE,
    every: int = 1,
) -> np.ndarray:
    """Least-squares centred FIR filters from (input (n,) or (n, k), targets (n, m)) pairs ->
    (m, k * taps).

    Normal equations are summed record by record, so the data never has to fit in memory at
    once; only samples whose whole neighbourhood lies inside their record are used (every
    ``every``-th of them: neighbouring samples add little).
    """
    if taps % 2 != 1:
        raise ValueError(f"a centred FIR needs an odd number of taps, got {taps}")
    half = taps // 2
    xtx = xty = None
    for x, y in pairs:
        # Contiguous: BLAS needs it, 2x faster than the view.
        lags = np.ascontiguousarray(lagged(x, taps)[::every])
        target = np.asarray(y, dtype=np.float64)[half : len(x) - half][::every]
        xtx = lags.T @ lags if xtx is None else xtx + lags.T @ lags
        xty = lags.T @ target if xty is None else xty + lags.T @ target
    if xty is None:
        raise ValueError("no records to fit")
    xtx[np.diag_indices(len(xtx))] += ridge * np.trace(xtx) / len(xtx)
    return np.linalg.solve(xtx, xty).T


def full_kernel(fir: np.ndarray) -> np.ndarray:
    """Filters for II, V1-V6 (7, taps) -> all 12 leads in the standard order (12, taps).

    Lead I passes through unchanged and the derived limb leads are the Einthoven/Goldberger
    combinations of the I and II filters, so the 12 outputs are consistent by construction.
    """
    taps = fir.shape[1]
    i = np.zeros(taps)
    i[taps // 2] = 1.0
    ii = fir[0]
    rows = {
        "I": i,
        "II": ii,
        "III": ii - i,
        "aVR": -(i + ii) / 2,
        "aVL": i - ii / 2,
        "aVF": ii - i / 2,
    }
    rows.update(zip(TARGETS[1:], fir[1:], strict=True))
    return np.stack([rows[name] for name in LEAD_NAMES])


def apply_kernel(lead_i: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """The numpy reference of the ONNX graph: (batch, window) -> (batch, 12, window).

    Zero padding at the window's edges, exactly like the Conv node's pads.
    """
    half = kernel.shape[1] // 2
    padded = np.pad(np.asarray(lead_i, dtype=np.float64), ((0, 0), (half, half)))
    return np.einsum("bwt,lt->blw", sliding_window_view(padded, kernel.shape[1], axis=1), kernel)


def to_onnx(kernel: np.ndarray, out: Path) -> Path:
    """Write the contract model: ``lead_i`` (batch, window) -> ``leads`` (batch, 12, window)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    leads, taps = kernel.shape
    half = taps // 2
    weights = numpy_helper.from_array(kernel[:, None, :].astype(np.float32), "fir")
    axis = numpy_helper.from_array(np.array([1], dtype=np.int64), "channel_axis")
    nodes = [
        helper.make_node("Unsqueeze", ["lead_i", "channel_axis"], ["lead_i_channel"]),
        helper.make_node(
            "Conv", ["lead_i_channel", "fir"], ["leads"], kernel_shape=[taps], pads=[half, half]
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "ecg12-linear-fir",
        [helper.make_tensor_value_info("lead_i", TensorProto.FLOAT, ["batch", "window"])],
        [helper.make_tensor_value_info("leads", TensorProto.FLOAT, ["batch", leads, "window"])],
        initializer=[weights, axis],
    )
    model = helper.make_model(
        graph, producer_name="ecg12 training.linear", opset_imports=[helper.make_opsetid("", OPSET)]
    )
    model.ir_version = 8  # the IR of opset 17: loadable by every onnxruntime ecg12 supports
    onnx.checker.check_model(model, full_check=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))
    return out


def session_predict(path: Path) -> Predict:
    """An onnxruntime session on the CPU as the ecg12 ``predict`` callable."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return lambda windows: session.run(["leads"], {"lead_i": windows.astype(np.float32)})[0]


def verify_onnx(path: Path, kernel: np.ndarray, atol: float = 1e-4) -> float:
    """Largest difference between onnxruntime and :func:`apply_kernel` on random input.

    Raises RuntimeError when it exceeds ``atol`` mV, i.e. the exported file is not the filter.
    """
    lead_i = np.random.default_rng(0).standard_normal((3, SPEC.window)).astype(np.float32)
    err = float(np.abs(session_predict(path)(lead_i) - apply_kernel(lead_i, kernel)).max())
    if err > atol:
        raise RuntimeError(f"{path}: onnxruntime differs from the numpy filter by {err:.2e}")
    return err


def load_cache(root: Path, path: Path = CACHE_FILE) -> Cache:
    """Folds 1-9 conditioned at 500 Hz, from ``path`` if it holds exactly those records."""
    folds = TRAIN_FOLDS + (VALID_FOLD,)
    wanted = [r.ecg_id for r in read_index(root) if r.fold in folds]
    if path.is_file():
        cache = Cache.load(path)
        if cache.spec == SPEC and cache.ecg_id.tolist() == wanted:
            return cache
        print(f"{path} was built from other records or conditioning; rebuilding it")
    cache = build_cache(root, SPEC, folds)
    cache.save(path)
    return cache


def fit_cache(cache: Cache, folds: tuple[int, ...] = TRAIN_FOLDS) -> np.ndarray:
    """The (7, taps) filters for II, V1-V6 fitted on the cached records of ``folds``."""
    idx = cache.select(folds)
    if len(idx) == 0:
        raise ValueError(f"no cached records in folds {folds}")
    signals = cache.signals
    return fit_fir((signals[r, :, 0] / 1000.0, signals[r, :, 1:] / 1000.0) for r in idx)


def evaluate(cache: Cache, idx: np.ndarray, predict: Predict) -> dict:
    """Scores of ``predict`` on records ``idx`` through the runtime's windows and stitching."""
    real = cache.leads_mv(idx)
    lead_i = [rec[:, 0] for rec in real]
    raw = infer(lead_i, cache.spec, predict)
    rec = np.stack([finish(r.leads, x, cache.spec) for r, x in zip(raw, lead_i, strict=True)])
    return score(real, rec, cache.spec.fs)


def card(out: Path, stats: dict, records: int, fit_seconds: float) -> dict:
    """The registry entry of the exported model (bundled: the file is a few kB)."""
    from training.cards import git_commit, sha256

    return {
        "version": "1.0.0",
        "file": out.name,
        "sha256": sha256(out),
        "size_bytes": out.stat().st_size,
        "bundled": True,
        "description": "Linear floor: one least-squares 101-tap FIR per lead from Lead I "
        "(the baseline every model must beat)",
        "preprocessing": SPEC.to_dict(),
        "training": {
            "method": "least squares (normal equations, ridge 1e-6 x mean diagonal) of a centred "
            "FIR from Lead I for II and V1-V6; III, aVR, aVL, aVF from I and II",
            "taps": TAPS,
            "fs": SPEC.fs,
            "data": "PTB-XL 1.0.3 (subset of 2,664 records), 500 Hz, all samples of each record",
            "folds": list(TRAIN_FOLDS),
            "records": records,
            "fit_seconds": round(fit_seconds, 1),
            "git_commit": git_commit(),
        },
        "metrics": {
            "fold9": {
                "records": stats["records"],
                **{
                    k: round(stats[k], 4)
                    for k in (
                        "mean_r",
                        "mae_mv",
                        "rmse_mv",
                        "v1_v6_amplitude_slope",
                        "v1_v6_amplitude_r2",
                    )
                },
                "per_lead_r": {name: round(v["r"], 4) for name, v in stats["per_lead"].items()},
            }
        },
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--ptbxl", type=Path, required=True, help="PTB-XL root (ptbxl_database.csv)")
    p.add_argument("--out", type=Path, default=Path("ecg12/models/linear-v1.onnx"))
    p.add_argument("--cache", type=Path, default=CACHE_FILE, help="conditioned 500 Hz records")
    args = p.parse_args(argv)

    cache = load_cache(args.ptbxl, args.cache)
    t0 = time.time()
    fir = fit_cache(cache)
    fit_seconds = time.time() - t0
    kernel = full_kernel(fir)
    to_onnx(kernel, args.out)
    err = verify_onnx(args.out, kernel)
    print(
        f"fitted {len(TARGETS)} filters on {len(cache.select(TRAIN_FOLDS))} records "
        f"in {fit_seconds:.1f} s; onnxruntime vs numpy max |diff| {err:.1e} mV"
    )

    stats = evaluate(cache, cache.select((VALID_FOLD,)), session_predict(args.out))
    print(f"fold {VALID_FOLD} ({stats['records']} records): {summary_line(stats)}")
    print("  ".join(f"{name} {v['r']:.2f}" for name, v in stats["per_lead"].items()))

    from training.cards import register

    register("linear", card(args.out, stats, len(cache.select(TRAIN_FOLDS)), fit_seconds))
    print(f"{args.out} registered as linear 1.0.0")


if __name__ == "__main__":
    main()
