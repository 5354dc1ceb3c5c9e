"""Figures for docs/: real vs reconstructed ECGs and amplitude agreement on a PTB-XL fold.

    python -m training.figures --model ekgan --ptbxl ../shared/data/ptbxl --out docs/figures/

Draws, for one model: the record with the median per-record MAE ("typical") and the one with the
largest ("worst") as clinical printouts with the real ECG overlaid, and a scatter of real vs
reconstructed amplitude in V2 and V5. Both signals are band-passed as they are scored
(:mod:`training.metrics`), so the figures show what the numbers measure.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import ecg12
from ecg12.leads import lead_index
from ecg12.plot import plot_12lead
from training.data import TEST_FOLD, VALID_FOLD
from training.evaluate import FS, figure_name, fold_records, reconstruct_fold
from training.metrics import EVAL_BAND, agreement, amplitude, eval_band, score

#: Small enough for a docs page (each PNG well under 400 KB), sharp enough to read the waves.
DPI = 100
SCATTER_LEADS = ("V2", "V5")


def _printout(real: np.ndarray, rec: np.ndarray, title: str, path: Path) -> Path:
    fig = plot_12lead(rec, FS, compare=real, compare_fs=FS, labels=("reconstructed", "real"),
                      title=title)
    fig.savefig(path, dpi=DPI)
    return path


def _scatter(amp_real: np.ndarray, amp_rec: np.ndarray, title: str, path: Path) -> Path:
    """Real vs reconstructed amplitude per lead, with the identity and the least-squares line."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 5.2), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(SCATTER_LEADS), sharex=True, sharey=True)
    top = float(max(amp_real[:, [lead_index(n) for n in SCATTER_LEADS]].max(),
                    amp_rec[:, [lead_index(n) for n in SCATTER_LEADS]].max())) * 1.05
    for ax, name in zip(axes, SCATTER_LEADS, strict=True):
        x, y = amp_real[:, lead_index(name)], amp_rec[:, lead_index(name)]
        fit = agreement(x, y)
        # The least-squares line passes through the means, so the slope alone fixes it.
        line = np.array([0.0, top])
        ax.scatter(x, y, s=8, alpha=0.5, color="#1f5fd0", linewidths=0)
        ax.plot(line, line, color="0.4", lw=1, ls="--", label="identity (slope 1)")
        ax.plot(line, y.mean() + fit["slope"] * (line - x.mean()), color="#d62728", lw=1.5,
                label=f"fit: slope {fit['slope']:.2f}, R² {fit['r2']:.2f}")
        ax.set(xlim=(0, top), ylim=(0, top), aspect="equal", title=name,
               xlabel="real amplitude p99 - p1 (mV)")
        ax.legend(loc="upper left", fontsize=8)
    axes[0].set_ylabel("reconstructed amplitude p99 - p1 (mV)")
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=DPI)
    return path


def draw(model_name: str, ptbxl: Path, outdir: Path, fold: int = VALID_FOLD,
         registry: Path | None = None, limit: int | None = None) -> list[Path]:
    """Reconstruct the fold through the public API and draw the three figures into ``outdir``."""
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
    paths.append(_scatter(amplitude(real), amplitude(rec), title,
                          outdir / figure_name(model_name, "amplitude")))
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
