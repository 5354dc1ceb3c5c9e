"""Figures for docs/: real vs reconstructed ECGs and amplitude agreement on a PTB-XL fold.

    python -m training.figures --model ekgan --ptbxl ../shared/data/ptbxl --out docs/figures/

Draws, for one model: the record with the median per-record MAE ("typical") and the one with the
largest ("worst") as clinical printouts with the real ECG overlaid, a scatter of real vs
reconstructed amplitude in V2 and V5, and scatter and Bland-Altman plots of the beat-level R
amplitude in V2 and V5 (:mod:`training.delineation`). Both signals are band-passed as they are
scored (:mod:`training.metrics`), so the figures show what the numbers measure.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import ecg12
from ecg12.leads import lead_index
from ecg12.plot import plot_12lead
from ecg12.trust import amplitude
from training import delineation
from training.data import TEST_FOLD, VALID_FOLD
from training.evaluate import FS, figure_name, fold_records, reconstruct_fold
from training.metrics import EVAL_BAND, agreement, eval_band, score

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Small enough for a docs page (each PNG well under 400 KB), sharp enough to read the waves.
DPI = 100
SCATTER_LEADS = ("V2", "V5")


def _printout(real: np.ndarray, rec: np.ndarray, title: str, path: Path) -> Path:
    fig = plot_12lead(rec, FS, compare=real, compare_fs=FS, labels=("reconstructed", "real"),
                      title=title)
    fig.savefig(path, dpi=DPI)
    return path


def _figure(height: float) -> Figure:
    """A 9-inch-wide figure on the Agg canvas: no display or pyplot state needed."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _scatter_panel(ax: Axes, x: np.ndarray, y: np.ndarray, lim: tuple[float, float],
                   title: str) -> dict[str, float]:
    """Real vs reconstructed, with the identity and the least-squares line; returns the fit."""
    fit = agreement(x, y)
    # The least-squares line passes through the means, so the slope alone fixes it.
    line = np.array(lim)
    ax.scatter(x, y, s=8, alpha=0.5, color="#1f5fd0", linewidths=0)
    ax.plot(line, line, color="0.4", lw=1, ls="--", label="identity (slope 1)")
    ax.plot(line, y.mean() + fit["slope"] * (line - x.mean()), color="#d62728", lw=1.5,
            label=f"fit: slope {fit['slope']:.2f}, R² {fit['r2']:.2f}")
    ax.set(xlim=lim, ylim=lim, aspect="equal", title=title)
    ax.legend(loc="upper left", fontsize=8)
    return fit


def _scatter(amp_real: np.ndarray, amp_rec: np.ndarray, title: str, path: Path) -> Path:
    """Real vs reconstructed amplitude (p99 - p1) per record in the scatter leads."""
    fig = _figure(5.2)
    axes = fig.subplots(1, len(SCATTER_LEADS), sharex=True, sharey=True)
    cols = [lead_index(n) for n in SCATTER_LEADS]
    top = float(max(amp_real[:, cols].max(), amp_rec[:, cols].max())) * 1.05
    for ax, name, col in zip(axes, SCATTER_LEADS, cols, strict=True):
        _scatter_panel(ax, amp_real[:, col], amp_rec[:, col], (0.0, top), name)
        ax.set_xlabel("real amplitude p99 - p1 (mV)")
    axes[0].set_ylabel("reconstructed amplitude p99 - p1 (mV)")
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=DPI)
    return path


def _bland_altman(real: np.ndarray, rec: np.ndarray, title: str, path: Path) -> Path:
    """Scatter (top) and Bland-Altman (bottom) of beat R amplitude, (records, leads) in mV."""
    fig = _figure(8.4)
    axes = fig.subplots(2, len(SCATTER_LEADS))
    cols = [lead_index(n) for n in SCATTER_LEADS]
    both = np.concatenate([real[:, cols], rec[:, cols]])
    pad = 0.05 * float(np.ptp(both))
    lim = (min(0.0, float(both.min())) - pad, float(both.max()) + pad)
    for top, bottom, name, col in zip(axes[0], axes[1], SCATTER_LEADS, cols, strict=True):
        x, y = real[:, col], rec[:, col]
        fit = _scatter_panel(top, x, y, lim, f"{name}: reconstructed vs real")
        top.set(xlabel="real R amplitude (mV)", ylabel="reconstructed R amplitude (mV)")
        bottom.scatter((x + y) / 2, y - x, s=8, alpha=0.5, color="#1f5fd0", linewidths=0)
        bottom.axhline(0, color="0.4", lw=1, ls="--")
        bottom.axhline(fit["bias"], color="#d62728", lw=1.5, label=f"bias {fit['bias']:+.2f} mV")
        for sign in (-1, 1):
            bottom.axhline(fit["bias"] + sign * fit["loa"], color="#d62728", lw=1, ls=":",
                           label=f"95% limits ± {fit['loa']:.2f} mV" if sign > 0 else None)
        bottom.set(title=f"{name}: Bland-Altman", xlabel="mean of real and reconstructed (mV)",
                   ylabel="reconstructed - real (mV)")
        bottom.legend(loc="upper left", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=DPI)
    return path


def draw(model_name: str, ptbxl: Path, outdir: Path, fold: int = VALID_FOLD,
         registry: Path | None = None, limit: int | None = None) -> list[Path]:
    """Reconstruct the fold through the public API and draw the four figures into ``outdir``."""
    records = fold_records(ptbxl, fold, limit)
    model = ecg12.load(model_name, device="cpu", registry=ecg12.load_registry(registry))
    out = reconstruct_fold(model, records)
    record_mae = np.asarray(score(out.real, out.rec, FS)["record_mae_mv"])
    real, rec = eval_band(out.real, FS), eval_band(out.rec, FS)
    outdir.mkdir(parents=True, exist_ok=True)
    band = f"{EVAL_BAND[0]:g}-{EVAL_BAND[1]:g} Hz"
    order = np.argsort(record_mae)
    paths = []
    for kind, i in (("typical", order[len(order) // 2]), ("worst", order[-1])):
        what = "median" if kind == "typical" else "largest"
        title = (f"{model_name}, PTB-XL ecg_id {out.ecg_ids[i]} (fold {fold}): {what} MAE, "
                 f"{record_mae[i]:.3f} mV; {band}")
        paths.append(_printout(real[i], rec[i], title, outdir / figure_name(model_name, kind)))
    title = (f"{model_name}: amplitude per record, PTB-XL fold {fold} "
             f"({len(out.ecg_ids)} records, band-passed {band})")
    paths.append(_scatter(amplitude(real, axis=1), amplitude(rec, axis=1), title,
                          outdir / figure_name(model_name, "amplitude")))
    beats = delineation.measure_fold(out.real, out.rec, FS)
    r = delineation.MEASURES.index("r_mv")
    title = (f"{model_name}: beat R amplitude (median over beats), PTB-XL fold {fold} "
             f"({len(beats.kept)} records delineated, {len(beats.failed)} failed; {band})")
    paths.append(_bland_altman(beats.real[..., r], beats.rec[..., r], title,
                               outdir / figure_name(model_name, "bland-altman")))
    return paths


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--ptbxl", type=Path, required=True, help="PTB-XL root (ptbxl_database.csv)")
    p.add_argument("--out", type=Path, default=Path("docs/figures"))
    p.add_argument("--registry", type=Path, default=None, help="default: the package's")
    p.add_argument("--fold", type=int, default=VALID_FOLD,
                   help=f"any fold but {TEST_FOLD}, which only the maintainers score")
    p.add_argument("--limit", type=int, default=None, help="first N records only (smoke tests)")
    args = p.parse_args(argv)
    if args.fold == TEST_FOLD:
        p.error(f"fold {TEST_FOLD} is the test fold; no figures are drawn from it")
    for path in draw(args.model, args.ptbxl, args.out, args.fold, args.registry, args.limit):
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
