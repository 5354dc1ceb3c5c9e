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
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import ecg12
from ecg12.dsp import amplitude
from ecg12.leads import lead_index
from ecg12.plot import plot_12lead
from training import delineation
from training.data import TEST_FOLD, VALID_FOLD
from training.evaluate import figure_name
from training.harness import FS, add_registry_option, fold_records, model_sources, reconstruct_fold
from training.metrics import EVAL_BAND, agreement, eval_band, score

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Small enough for a docs page (each PNG well under 400 KB), sharp enough to read the waves.
DPI = 100
SCATTER_LEADS = ("V2", "V5")


def _printout(real: np.ndarray, rec: np.ndarray, title: str, path: Path) -> Path:
    fig = plot_12lead(
        rec, FS, compare=real, compare_fs=FS, labels=("reconstructed", "real"), title=title
    )
    fig.savefig(path, dpi=DPI)
    return path


def _figure(height: float) -> Figure:
    """A 9-inch-wide figure on the Agg canvas: no display or pyplot state needed."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _scatter_panel(
    ax: Axes, x: np.ndarray, y: np.ndarray, lim: tuple[float, float], title: str
) -> dict[str, float]:
    """Real vs reconstructed, with the identity and the least-squares line; returns the fit."""
    fit = agreement(x, y)
    # The least-squares line passes through the means, so the slope alone fixes it.
    line = np.array(lim)
    ax.scatter(x, y, s=8, alpha=0.5, color="#1f5fd0", linewidths=0)
    ax.plot(line, line, color="0.4", lw=1, ls="--", label="identity (slope 1)")
    ax.plot(
        line,
        y.mean() + fit["slope"] * (line - x.mean()),
        color="#d62728",
        lw=1.5,
        label=f"fit: slope {fit['slope']:.2f}, R² {fit['r2']:.2f}",
    )
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
            bottom.axhline(
                fit["bias"] + sign * fit["loa"],
                color="#d62728",
                lw=1,
                ls=":",
                label=f"95% limits ± {fit['loa']:.2f} mV" if sign > 0 else None,
            )
        bottom.set(
            title=f"{name}: Bland-Altman",
            xlabel="mean of real and reconstructed (mV)",
            ylabel="reconstructed - real (mV)",
        )
        bottom.legend(loc="upper left", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=DPI)
    return path


def draw(
    model_name: str,
    ptbxl: Path,
    outdir: Path,
    fold: int = VALID_FOLD,
    registry: Path | None = None,
    limit: int | None = None,
) -> list[Path]:
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
        title = (
            f"{model_name}, PTB-XL ecg_id {out.ecg_ids[i]} (fold {fold}): {what} MAE, "
            f"{record_mae[i]:.3f} mV; {band}"
        )
        paths.append(_printout(real[i], rec[i], title, outdir / figure_name(model_name, kind)))
    title = (
        f"{model_name}: amplitude per record, PTB-XL fold {fold} "
        f"({len(out.ecg_ids)} records, band-passed {band})"
    )
    paths.append(
        _scatter(
            amplitude(real, axis=1),
            amplitude(rec, axis=1),
            title,
            outdir / figure_name(model_name, "amplitude"),
        )
    )
    beats = delineation.measure_fold(out.real, out.rec, FS)
    r = delineation.MEASURES.index("r_mv")
    title = (
        f"{model_name}: beat R amplitude (median over beats), PTB-XL fold {fold} "
        f"({len(beats.kept)} records delineated, {len(beats.failed)} failed; {band})"
    )
    paths.append(
        _bland_altman(
            beats.real[..., r],
            beats.rec[..., r],
            title,
            outdir / figure_name(model_name, "bland-altman"),
        )
    )
    return paths


COMPARE_LEADS = ("II", "aVF", "V1", "V2", "V4", "V6")
COMPARE_SECONDS = 3.0


def compare(
    models: list[tuple[str, Path | None]],
    ptbxl: Path,
    outdir: Path,
    fold: int = VALID_FOLD,
    limit: int | None = None,
) -> Path:
    """One record, each model's reconstruction beside the real ECG (leads x models).

    The record is the first model's typical one (median per-record MAE), so the page shows an
    ordinary case rather than a chosen best.
    """
    records = fold_records(ptbxl, fold, limit)
    loaded = [ecg12.load(n, device="cpu", registry=ecg12.load_registry(r)) for n, r in models]
    first = reconstruct_fold(loaded[0], records)
    record_mae = np.asarray(score(first.real, first.rec, FS)["record_mae_mv"])
    i = int(np.argsort(record_mae)[len(record_mae) // 2])
    real = eval_band(first.real[i : i + 1], FS)[0]
    recs = [eval_band(first.rec[i : i + 1], FS)[0]]
    lead_i = first.real[i][:, 0]
    for model in loaded[1:]:
        recs.append(eval_band(model.reconstruct(lead_i, fs=FS).p_signal[None], FS)[0])
    n = int(COMPARE_SECONDS * FS)
    t = np.arange(n) / FS
    fig = _figure(1.1 * len(COMPARE_LEADS) + 0.8)
    fig.set_figwidth(2.4 * len(loaded) + 0.6)
    axes = fig.subplots(len(COMPARE_LEADS), len(loaded), sharex=True, sharey="row", squeeze=False)
    for col, (model, rec) in enumerate(zip(loaded, recs, strict=True)):
        axes[0, col].set_title(model.name, fontsize=9)
        for row, name in enumerate(COMPARE_LEADS):
            ax, k = axes[row, col], lead_index(name)
            ax.plot(t, real[:n, k], color="0.2", lw=0.9, label="real")
            ax.plot(t, rec[:n, k], color="#d62728", lw=0.9, label="reconstructed")
            ax.tick_params(labelsize=7)
            if col == 0:
                ax.set_ylabel(f"{name} (mV)", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("s", fontsize=8)
    axes[0, 0].legend(loc="upper right", fontsize=7)
    fig.suptitle(
        f"PTB-XL ecg_id {first.ecg_ids[i]} (fold {fold}), typical record for "
        f"{loaded[0].name}; band-passed {EVAL_BAND[0]:g}-{EVAL_BAND[1]:g} Hz",
        fontsize=10,
    )
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / "models-compared.png"
    fig.savefig(path, dpi=DPI)
    return path


def tradeoff(results: list[Path], outdir: Path) -> Path:
    """Waveform r against V1-V6 amplitude R² for every scored model, beside the reference rows
    and the amplitude issue's target: where each lever landed, failures included."""
    from training.evaluate import REFERENCE

    points = {}
    for path in results:
        for res in json.loads(path.read_text())["models"]:
            s = res["scores"]
            point = (s["mean_r"], s["v1_v6_amplitude_r2"])
            if np.isfinite(point).all():  # a constant lead has no defined R²
                points[res["model"]] = point
    fig = _figure(5.0)
    axes = fig.subplots(1, 2)
    # Left: everything from the floor up (models below it are named in the corner);
    # right: the crowded corner of the L1-trained generators, where the labels need room.
    views = ((0.55, 0.86, 0.0, 0.45), (0.755, 0.79, 0.14, 0.23))
    for ax, (x0, x1, y0, y1) in zip(axes, views, strict=True):
        ax.fill_between(
            [0.77, 1.0],
            0.35,
            1.0,
            color="#2ca02c",
            alpha=0.15,
            label="target: r ≥ 0.77 and R² ≥ 0.35",
        )
        shown = {n: p for n, p in points.items() if x0 <= p[0] <= x1 and y0 <= p[1] <= y1}
        zoomed = ax is axes[0] and (
            lambda r, r2: views[1][0] <= r <= views[1][1] and views[1][2] <= r2 <= views[1][3]
        )
        for name, (r, r2) in sorted(shown.items()):
            ax.scatter(r, r2, s=30, color="#1f5fd0", zorder=3)
            if not (zoomed and zoomed(r, r2)):  # named in the zoom instead
                ax.annotate(name, (r, r2), xytext=(4, 3), textcoords="offset points", fontsize=7)
        for label, r, _mae, _slope, r2 in REFERENCE:
            x, y = float(np.mean([float(v) for v in r.split("-")])), float(r2.lstrip("~"))
            if x0 <= x <= x1 and y0 <= y <= y1:
                ax.scatter(x, y, s=40, facecolors="none", edgecolors="0.3", zorder=3)
                ax.annotate(
                    "reference: " + label.split(" (")[0],
                    (x, y),
                    xytext=(4, -10),
                    textcoords="offset points",
                    fontsize=7,
                    color="0.3",
                )
        ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="mean Pearson r, 11 leads")
    below = [f"{n} (r {p[0]:.2f})" for n, p in sorted(points.items()) if p[0] < views[0][0]]
    if below:
        axes[0].text(
            0.99,
            0.99,
            "off the chart: " + ", ".join(below),
            fontsize=7,
            ha="right",
            va="top",
            transform=axes[0].transAxes,
        )
    axes[0].set(ylabel="V1-V6 amplitude R² (p99 - p1, reconstructed on real)")
    axes[0].legend(loc="center left", fontsize=8)
    axes[1].set_title("zoom", fontsize=9)
    fig.suptitle("Shape against amplitude, PTB-XL fold 9: every model we scored", fontsize=10)
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / "amplitude-tradeoff.png"
    fig.savefig(path, dpi=DPI)
    return path


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", help="the four figures of one model")
    p.add_argument(
        "--compare",
        nargs="+",
        default=[],
        metavar="MODEL",
        help="one record, each of these models beside the real ECG",
    )
    p.add_argument(
        "--tradeoff",
        nargs="+",
        type=Path,
        default=[],
        metavar="RESULTS_JSON",
        help="r against amplitude R² of every model in these training.evaluate JSONs",
    )
    p.add_argument("--ptbxl", type=Path, help="PTB-XL root (ptbxl_database.csv)")
    p.add_argument("--out", type=Path, default=Path("docs/figures"))
    add_registry_option(p)
    p.add_argument(
        "--fold",
        type=int,
        default=VALID_FOLD,
        help=f"any fold but {TEST_FOLD}, which only the maintainers score",
    )
    p.add_argument("--limit", type=int, default=None, help="first N records only (smoke tests)")
    args = p.parse_args(argv)
    if args.fold == TEST_FOLD:
        p.error(f"fold {TEST_FOLD} is the test fold; no figures are drawn from it")
    if not (args.model or args.compare or args.tradeoff):
        p.error("give --model, --compare or --tradeoff")
    if (args.model or args.compare) and not args.ptbxl:
        p.error("--model and --compare need --ptbxl")
    paths = [tradeoff(args.tradeoff, args.out)] if args.tradeoff else []
    if args.model:
        ((name, registry),) = model_sources(args.registry, [args.model], False)
        paths += draw(name, args.ptbxl, args.out, args.fold, registry, args.limit)
    if args.compare:
        sources = model_sources(args.registry, args.compare, False)
        paths.append(compare(sources, args.ptbxl, args.out, args.fold, args.limit))
    for path in paths:
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
