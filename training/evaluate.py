"""Score registered models on a PTB-XL fold through the public ecg12 API, the path users take.

    python -m training.evaluate --ptbxl ../shared/data/ptbxl --all --out docs/results.md \\
        --json docs/results.json

Each record's real Lead I (mV, at the rate it was recorded: 500 Hz from ``--ptbxl``, 100 Hz from
``--ptbxl100``) goes through ``ecg12.load(...).reconstruct_many`` and the 500 Hz output is scored
against the record's own 12 leads (100 Hz ones brought to 500 Hz) with
:func:`training.metrics.score`: on the whole fold and on each rate's part.
Fold 9 is the selection fold (models pick their best epoch on it); fold 10, PTB-XL's test fold,
is refused unless asked for explicitly, because nothing may be tuned on it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

import ecg12
from ecg12.leads import LEAD_NAMES
from training import cards, delineation, harness
from training.data import TEST_FOLD, VALID_FOLD
from training.harness import (
    FS,
    PTBXL_CREDIT,
    FoldOutput,
    add_registry_option,
    fold_records,
    machine,
    markdown_table,
    model_sources,
    reconstruct_fold,
    write_json,
)
from training.metrics import (
    EVAL_BAND,
    RECONSTRUCTED,
    SHARP_BAND,
    eval_band,
    pearson_rows,
    score,
    sharpness_ratio,
)

#: Records reconstructed one at a time (after one warm-up call) to time CPU inference.
TIMED_RECORDS = 20
#: Real and reconstructed Lead I (the conditioned input itself) must agree this well in the
#: evaluation band on the median record; a shift or a wrong rate between the two would not.
ALIGNED_R = 0.99
#: Figures that training.figures draws per model, as figures/<model>-<kind>.png beside the page.
FIGURE_KINDS = ("typical", "worst", "amplitude", "bland-altman")
#: Figures of all models together (training.figures --compare / --tradeoff).
SHARED_FIGURES = ("models-compared.png", "amplitude-tradeoff.png")
#: Reference measurements from ../shared/docs/ekgan.md (fold 9, same conventions), as written there.
REFERENCE = (
    (
        "linear floor (one 101-tap FIR per lead from Lead I, least squares on folds 1-8)",
        "0.59",
        "0.080",
        "0.09",
        "0.04",
    ),
    (
        "plain L1 generator (EKGAN's inference generator, no adversarial or latent term)",
        "0.77-0.78",
        "0.056",
        "~0.25",
        "~0.19",
    ),
)


def figure_name(model: str, kind: str) -> str:
    return f"{model}-{kind}.png"


def lead_i_r(fold: FoldOutput) -> np.ndarray:
    """Per record, r of real vs reconstructed Lead I in the evaluation band: the alignment check."""
    return pearson_rows(eval_band(fold.real[..., :1], FS), eval_band(fold.rec[..., :1], FS))[:, 0]


def cpu_seconds_per_10s(
    model: ecg12.Model, leads_i: list[np.ndarray], n: int = TIMED_RECORDS
) -> float:
    """Mean wall time of ``reconstruct`` on one record at a time, per 10 s of input."""
    model.reconstruct(leads_i[0], fs=FS)  # warm-up: first-call allocations are not inference
    per_10s = []
    for i in range(n):
        x = leads_i[i % len(leads_i)]
        t0 = time.perf_counter()
        model.reconstruct(x, fs=FS)
        per_10s.append((time.perf_counter() - t0) * 10.0 * FS / len(x))
    return float(np.mean(per_10s))


def delineation_scores(out: FoldOutput) -> dict:
    """Beat-level agreement (:mod:`training.delineation`), failed records named, cost timed."""
    t0 = time.perf_counter()
    beats = delineation.score(out.real, out.rec, FS)
    beats["failed_ecg_ids"] = [out.ecg_ids[i] for i in beats.pop("failed_indices")]
    beats["seconds"] = time.perf_counter() - t0
    return beats


def evaluate(
    model_name: str,
    ptbxl: Path,
    fold: int = VALID_FOLD,
    registry: Path | None = None,
    limit: int | None = None,
    *,
    allow_test_fold: bool = False,
    beats: bool = False,
    ptbxl100: Path | None = None,
) -> dict:
    """Scores, timing and card facts of one registered model on one PTB-XL fold (with
    ``ptbxl100``, its 100 Hz records too, and each rate's part scored on its own); with
    ``beats``, also the beat-level agreement of :mod:`training.delineation`."""
    records = fold_records(ptbxl, fold, limit, allow_test_fold, ptbxl100)
    reg = ecg12.load_registry(registry)
    model = ecg12.load(model_name, device="cpu", registry=reg)
    out = reconstruct_fold(model, records)
    alignment = lead_i_r(out)
    if not np.nanmedian(alignment) > ALIGNED_R:
        raise RuntimeError(
            f"{model_name}: real and reconstructed Lead I disagree (median r "
            f"{np.nanmedian(alignment):.3f}); the records are misaligned"
        )
    # Timed before scoring, as it always was: the delineation's work must not slow it down.
    cpu_seconds = cpu_seconds_per_10s(model, [x[:, 0] for x in out.real[:TIMED_RECORDS]])
    # Other work on the machine slows the timing down; say how busy it was.
    load = os.getloadavg()[0]
    scores = score(out.real, out.rec, fs=FS)
    parts = {
        f"{rate:g} Hz": _part_summary(score(out.real[sel], out.rec[sel], fs=FS))
        for rate in sorted(set(out.source_fs.tolist()), reverse=True)
        if (sel := out.source_fs == rate).any()
    }
    if (full := out.source_fs == FS).any():
        parts[f"{FS:g} Hz"]["sharpness_ratio"] = sharpness_ratio(out.real[full], out.rec[full], FS)
    if beats:
        scores["delineation"] = delineation_scores(out)
    card = model.card
    return {
        "model": model_name,
        "version": card.version,
        "description": card.description,
        "registry": str(registry) if registry else "package",
        "file": card.file,
        "sha256": card.sha256,
        "size_bytes": card.size_bytes,
        "training": card.training,
        "card_metrics": card.metrics,
        "fold": fold,
        "records": len(out.ecg_ids),
        "ecg_ids": out.ecg_ids,
        "refused": out.refused,
        "records_with_warnings": out.warned,
        "lead_i_r_min": float(np.nanmin(alignment)),
        "cpu_seconds_per_10s_record": cpu_seconds,
        "cpu_load_average": load,
        "cpu": machine(),  # the machine the CPU time was taken on
        "scores": scores,
        "parts": parts,
    }


def _part_summary(scores: dict) -> dict:
    """The headline scores of one part of a fold, and its per-lead r."""
    keep = ("records", "mean_r", "mae_mv", "rmse_mv", "v1_v6_amplitude_slope", "v1_v6_amplitude_r2")
    return {
        **{k: scores[k] for k in keep},
        "per_lead_r": {lead: v["r"] for lead, v in scores["per_lead"].items()},
    }


def _machines(results: list[dict], cpu: str) -> str:
    """The machine the rows' CPU times were taken on, or each machine with its models (a page
    that ``--add`` grew over sessions); ``cpu`` for rows that do not name theirs."""
    models: dict[str, list[str]] = {}
    for res in results:
        models.setdefault(res.get("cpu", cpu), []).append(res["model"])
    if len(models) == 1:
        return next(iter(models))
    return "; ".join(f"{machine} ({', '.join(names)})" for machine, names in models.items())


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def _fmt(value: object, spec: str) -> str:
    return format(value, spec) if isinstance(value, (int, float)) else "–"


def _summary_row(label: str, s: dict) -> list[str]:
    return [
        label,
        str(s["records"]),
        f"{s['mean_r']:.3f}",
        f"{s['mae_mv']:.4f}",
        f"{s['rmse_mv']:.4f}",
        f"{s['v1_v6_amplitude_slope']:.2f}",
        f"{s['v1_v6_amplitude_r2']:.2f}",
    ]


def _summary_rows(results: list[dict]) -> list[list[str]]:
    """One row per model, then (when the fold mixes rates) one per rate's part of it."""
    rows = []
    for res in results:
        rows.append(_summary_row(f"**{res['model']}** {res['version']}", res["scores"]))
        parts = res.get("parts", {})
        if len(parts) > 1:
            rows += [_summary_row(f"↳ records at {name}", s) for name, s in parts.items()]
    for label, r, mae, slope, r2 in REFERENCE:
        rows.append([f"reference: {label}", "–", r, mae, "–", slope, r2])
    return rows


def _per_lead_rows(results: list[dict]) -> tuple[list[list[str]], list[list[str]]]:
    wave, amp = [], []
    for lead in RECONSTRUCTED:
        cells = [res["scores"]["per_lead"][lead] for res in results]
        best_r = max(range(len(cells)), key=lambda i: cells[i]["r"])
        best_mae = min(range(len(cells)), key=lambda i: cells[i]["mae_mv"])
        wave.append(
            [lead]
            + [f"{c['r']:.3f} / {c['mae_mv']:.3f} / {c['rmse_mv']:.3f}" for c in cells]
            + [f"{results[best_r]['model']} / {results[best_mae]['model']}"]
        )
        amp.append(
            [lead]
            + [
                f"{a['slope']:.2f} / {a['r2']:.2f} / {a['bias']:+.2f} ± {a['loa']:.2f}"
                for a in (c["amplitude"] for c in cells)
            ]
        )
    return wave, amp


def _delineation_lines(results: list[dict]) -> list[str]:
    """The beat-level section: V1-V6 means per measure, then what was delineated and its cost."""
    beats = [res["scores"]["delineation"] for res in results]
    rows = []
    for m in delineation.MEASURES:
        digits = 1 if m == "qrs_ms" else 3  # ms or mV
        rows.append(
            [delineation.LABELS[m]]
            + [
                f"{h['slope']:.2f} / {h['r2']:.2f} / "
                f"{h['bias']:+.{digits}f} ± {h['loa']:.{digits}f}"
                for h in (b["v1_v6"][m] for b in beats)
            ]
        )
    lines = [
        "",
        "## Beat delineation: V1-V6 mean slope / R² / bias ± LoA",
        "",
        "Fiducials from neurokit2 on each real record's Lead I (R peaks, then QRS onset, "
        "J point and T peak, discrete wavelet method), reused for every lead of the real and "
        "the reconstructed record, so both are measured at the same beats. Per lead and "
        f"beat, against the isoelectric level {delineation.BASELINE_MS[0]:g}-"
        f"{delineation.BASELINE_MS[1]:g} ms before QRS onset: R = maximum and S = minimum "
        f"after it in the QRS window (± {delineation.QRS_MARGIN_MS:g} ms), T = value at "
        f"the T peak, ST = value at J + {delineation.ST_AFTER_J_MS:g} ms; QRS duration is "
        "the lead's own, the span where its slope exceeds "
        f"{delineation.SLOPE_FRACTION:g} of its largest slope in that window. Medians over "
        "beats, then slope / R² / Bland-Altman across records as for amplitude, averaged "
        "over V1-V6 (per lead in the JSON file).",
        "",
    ]
    lines += markdown_table(["measure", *(res["model"] for res in results)], rows)
    lines.append("")
    for res, b in zip(results, beats, strict=True):
        lines.append(
            f"- {res['model']}: {b['records']} records delineated, {b['failed']} "
            f"failed and left out; {b['seconds']:.0f} s."
        )
    return lines


def _model_rows(results: list[dict]) -> tuple[list[list[str]], list[str]]:
    rows, configs = [], []
    for res in results:
        t = res["training"]
        params = t.get("parameters")
        rows.append(
            [
                res["model"],
                _size(res["size_bytes"]),
                f"{params / 1e6:.2f} M" if isinstance(params, int) else "–",
                str(t.get("weights_dtype", "–")),
                f"{res['cpu_seconds_per_10s_record']:.3f}",
                str(t.get("hardware", "–")),
                _fmt(t.get("train_seconds", t.get("fit_seconds")), ".0f"),
                _fmt(t.get("epochs_trained"), "d"),
                _fmt(t.get("best_epoch"), "d"),
            ]
        )
        # Learned models record their run's config; others (the linear fit) describe the method.
        label, facts = (
            ("Training config", t["config"])
            if t.get("config")
            else ("Training", {k: v for k, v in t.items() if k not in ("data", "git_commit")})
        )
        configs.append(
            f"- **{res['model']}**: {res['description']}. {label}: "
            + (", ".join(f"`{k}={_homeless(v)}`" for k, v in facts.items()) or "none recorded")
        )
    return rows, configs


def _homeless(value: object) -> str:
    """A config value with the trainer's home folder written as ``~`` (no machine paths)."""
    return str(value).replace(str(Path.home()), "~")


def render_markdown(
    results: list[dict], command: str, ptbxl: Path, cpu: str, figures: Sequence[str] = ()
) -> str:
    """The results page: summary, per-lead tables, models, method, credit (no per-record lists)."""
    fold = results[0]["fold"]
    names = [res["model"] for res in results]
    wave, amp = _per_lead_rows(results)
    models, configs = _model_rows(results)
    lines = [
        f"# ecg12 accuracy on PTB-XL fold {fold}",
        "",
        "Generated by `training/evaluate.py`; do not edit by hand. Made with:",
        "",
        "```",
        command,
        "```",
        "",
        f"Every record of fold {fold} present in `{ptbxl}` (and, where the table shows parts, "
        "in its 100 Hz companion `ptbxl100/`) is reconstructed from its own real Lead I (mV, at "
        'the rate it was recorded) through the public API (`ecg12.load(name, device="cpu")'
        ".reconstruct_many(..., fs=rate)`, output at 500 Hz) and scored against the record's "
        "real 12 leads (100 Hz ones resampled to 500 Hz: they hold nothing above 50 Hz, and the "
        "scores look below 40 Hz only). Both are band-passed "
        f"{EVAL_BAND[0]:g}-{EVAL_BAND[1]:g} Hz; scores cover "
        "the 11 reconstructed leads (Lead I is the input), per record and lead, averaged over "
        "records. Amplitude is p99 - p1 per record and lead; its slope and R² are those of "
        "reconstructed on real across records (1 / 1: each patient's own amplitudes; 0 / 0: the "
        "population average), and bias ± LoA are Bland-Altman (reconstructed - real, mV, "
        "limits 1.96 SD). Only these scores are computed: Pearson r, MAE, RMSE, amplitude "
        "agreement and, where shown, the agreement of beat measurements (R, S and T amplitude, "
        "QRS duration, ST level); no other metrics from the literature.",
        "",
    ]
    if fold == VALID_FOLD:
        lines += [
            f"Fold {VALID_FOLD} is the selection fold: each model's best epoch was chosen on "
            f"it, so these numbers lean optimistic. Fold {TEST_FOLD} (PTB-XL's test fold) is "
            "scored only by the maintainers.",
            "",
        ]
    lines += ["## Summary", ""]
    lines += markdown_table(
        [
            "model",
            "records",
            "mean r",
            "MAE (mV)",
            "RMSE (mV)",
            "V1-V6 amp. slope",
            "V1-V6 amp. R²",
        ],
        _summary_rows(results),
    )
    lines += [
        "",
        "Reference rows are measurements quoted from the project docs "
        "(`../shared/docs/ekgan.md`, fold 9, same conventions), not recomputed here. "
        "The EKGAN paper (Joo et al., MICCAI 2023) scores EKGAN, Pix2pix, CycleGAN and "
        "CardioGAN on a private hospital data set with its own metrics; those numbers are not "
        "in our docs and could not be checked here, so this page quotes none of them and "
        "compares the models on PTB-XL only.",
        "",
        "Every model here is given Lead I. The any-lead model (`ekgan-any`), given other sets "
        "of leads (II; V1; V5; II + V5; the six limb leads; limb leads + V2; ...), is scored "
        "per input set beside a linear floor of the same set on "
        "[input-sets.md](input-sets.md) (`training/input_sets.py`).",
        "",
    ]
    for res in results:
        problems = [f"{len(res['refused'])} refused by the API"] if res["refused"] else []
        problems.append(f"{res['records_with_warnings']} with input-quality warnings")
        sharp = res.get("parts", {}).get(f"{FS:g} Hz", {}).get("sharpness_ratio")
        lines.append(
            f"- {res['model']}: {res['records']} records scored, {', '.join(problems)}; "
            f"real vs reconstructed Lead I r ≥ {res['lead_i_r_min']:.3f} "
            "(alignment check)"
            + (
                f"; sharpness {sharp:.2f} (RMS {SHARP_BAND[0]:g}-{SHARP_BAND[1]:g} Hz of the "
                "reconstruction over the real ECG's, median of 500 Hz records and leads; "
                "1 = as sharp, below 1 = a blurred QRS)."
                if sharp is not None
                else "."
            )
        )
    lines += ["", "## Per lead: r / MAE / RMSE (mV)", ""]
    lines += markdown_table(["lead", *names, "best r / best MAE"], wave)
    lines += ["", "## Per lead: amplitude slope / R² / bias ± LoA (mV)", ""]
    lines += markdown_table(["lead", *names], amp)
    if all("delineation" in res["scores"] for res in results):
        lines += _delineation_lines(results)
    lines += ["", "## Models", ""]
    lines += markdown_table(
        [
            "model",
            "file",
            "parameters",
            "weights",
            "CPU s per 10 s record",
            "trained on",
            "train s",
            "epochs trained",
            "best epoch",
        ],
        models,
    )
    loads = [res["cpu_load_average"] for res in results]
    lines += [
        "",
        f"CPU time: mean wall time of `Model.reconstruct` on one 10 s record at a time "
        f"(after a warm-up call, {TIMED_RECORDS} records), onnxruntime on "
        f"{_machines(results, cpu)}; 1-minute "
        f"load average when timed {min(loads):.1f}-{max(loads):.1f} (other work on the "
        "machine makes these upper bounds).",
        "",
    ]
    lines += configs
    if figures:
        lines += ["", "## Figures", "", *(f"![{Path(link).stem}]({link})" for link in figures)]
    lines += [
        "",
        "## Data",
        "",
        f"Computed on {PTBXL_CREDIT}. Per-record scores are in the JSON "
        "file written beside this page.",
        "",
    ]
    return "\n".join(lines)


def write_card_metrics(name: str, scores: dict, parts: dict, registry: Path, command: str) -> None:
    """Put the fold-9 summary into the model's card, where `ecg12 models` shows it."""
    data = json.loads(Path(registry).read_text())
    card = data["models"][name]
    card["metrics"]["fold9"] = {
        "measured_by": command,
        **{k: round(v, 4) for k, v in scores.items() if isinstance(v, float)},
        "records": scores["records"],
        "per_lead_r": {lead: round(v["r"], 3) for lead, v in scores["per_lead"].items()},
    }
    if len(parts) > 1:
        card["metrics"]["fold9"]["parts"] = {
            part: {k: round(v, 4) if isinstance(v, float) else v for k, v in s.items()}
            for part, s in parts.items()
        }
    cards.register(name, card, registry=Path(registry))


def _write_page(out: Path, results: list[dict], command: str, ptbxl: Path, cpu: str) -> None:
    """The Markdown page, linking the figures that exist beside it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    names = [figure_name(res["model"], kind) for res in results for kind in FIGURE_KINDS]
    figures = [
        f"figures/{name}"
        for name in [*SHARED_FIGURES, *names]
        if (out.parent / "figures" / name).is_file()
    ]
    out.write_text(render_markdown(results, command, ptbxl, cpu, figures), encoding="utf-8")
    print(f"wrote {out}")


def _added(earlier: dict, results: list[dict], command: str) -> tuple[list[dict], str]:
    """An earlier run's models with ``results`` added (a model scored again replaces its earlier
    row, in place), each row naming the machine it was timed on, and its commands followed by
    ``command``."""
    fresh = {res["model"]: res for res in results}
    kept = [fresh.pop(res["model"], {"cpu": earlier["cpu"], **res}) for res in earlier["models"]]
    return [*kept, *fresh.values()], f"{earlier['command']}\n{command}"


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--ptbxl", type=Path, required=True, help="PTB-XL root (ptbxl_database.csv)")
    p.add_argument(
        "--ptbxl100", type=Path, default=None, help="ptbxl100/: the fold's 100 Hz records too"
    )
    p.add_argument("--model", action="append", default=[], help="model name (repeatable)")
    p.add_argument("--all", action="store_true", help="every model of the registries")
    add_registry_option(p)
    p.add_argument("--fold", type=int, default=VALID_FOLD)
    p.add_argument(
        "--i-know-this-is-the-test-fold",
        dest="test_fold",
        action="store_true",
        help=f"allow fold {TEST_FOLD}",
    )
    p.add_argument("--limit", type=int, default=None, help="first N records only (smoke tests)")
    p.add_argument("--out", type=Path, default=None, help="Markdown page to write")
    p.add_argument("--json", type=Path, default=None, help="full scores as JSON")
    p.add_argument(
        "--delineation",
        action="store_true",
        help="also score beat measurements (R, S, T, QRS, ST) per lead; neurokit2",
    )
    p.add_argument(
        "--write-cards",
        action="store_true",
        help="store each score as metrics.fold9 in the card of its registry",
    )
    p.add_argument(
        "--add",
        action="store_true",
        help="keep the models of an earlier --json (same fold) and add or replace these: one "
        "more model need not rescore the others",
    )
    p.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite --out from an earlier --json (e.g. after drawing figures); scores nothing",
    )
    args = p.parse_args(argv)
    if args.render_only:
        if not (args.out and args.json):
            p.error("--render-only needs --json (read) and --out (written)")
        body = json.loads(args.json.read_text(encoding="utf-8"))
        _write_page(args.out, body["models"], body["command"], Path(body["ptbxl"]), body["cpu"])
        return
    if args.fold == TEST_FOLD and not args.test_fold:
        p.error(f"fold {TEST_FOLD} is the test fold; pass --i-know-this-is-the-test-fold")
    if not args.model and not args.all:
        p.error("name a --model or pass --all")
    command = harness.command("training.evaluate", argv)
    results, earlier = [], None
    if args.add:
        if not (args.json and args.json.is_file()):
            p.error("--add needs an earlier --json to add to")
        earlier = json.loads(args.json.read_text(encoding="utf-8"))
        if earlier["fold"] != args.fold:
            p.error(f"{args.json} scores fold {earlier['fold']}, not fold {args.fold}")
    try:
        sources = model_sources(args.registry, args.model, args.all)
    except (ValueError, ecg12.ModelError) as exc:
        p.error(str(exc))
    for name, registry in sources:
        t0 = time.perf_counter()
        res = evaluate(
            name,
            args.ptbxl,
            args.fold,
            registry,
            args.limit,
            allow_test_fold=args.test_fold,
            beats=args.delineation,
            ptbxl100=args.ptbxl100,
        )
        results.append(res)
        s = res["scores"]
        if args.write_cards:
            write_card_metrics(name, s, res["parts"], registry or cards.REGISTRY, command)
        print(
            f"{name}: {s['records']} records, r {s['mean_r']:.3f}, MAE {s['mae_mv']:.4f} mV, "
            f"V1-V6 amp slope {s['v1_v6_amplitude_slope']:.2f} R2 {s['v1_v6_amplitude_r2']:.2f}, "
            f"CPU {res['cpu_seconds_per_10s_record']:.3f} s/record "
            f"({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
        if "delineation" in s:
            b = s["delineation"]
            print(
                f"  beats: {b['records']} records ({b['failed']} failed), V1-V6 slope / R2 "
                + ", ".join(f"{m} {h['slope']:.2f} / {h['r2']:.2f}" for m, h in b["v1_v6"].items())
                + f" ({b['seconds']:.0f} s)",
                flush=True,
            )
    cpu = machine()
    if earlier is not None:
        results, command = _added(earlier, results, command)
    if args.out:
        _write_page(args.out, results, command, args.ptbxl, cpu)
    if args.json:
        body = {
            "command": command,
            "ptbxl": str(args.ptbxl),
            "fold": args.fold,
            "ecg12_version": ecg12.__version__,
            "cpu": cpu,
            "lead_names": list(LEAD_NAMES),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "models": results,
        }
        write_json(args.json, body)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
