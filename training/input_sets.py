"""The any-lead model on fold 9, one table row per input set, beside the linear floor of the same
set and the Lead I default: the page docs/input-sets.md.

    python -m training.input_sets --ptbxl ../shared/data/ptbxl --ptbxl100 ../shared/data/ptbxl100 \\
        --model ekgan-any --out docs/input-sets.md --json docs/input-sets.json

Every fold-9 record goes through the public API as its 12-lead array with ``leads=`` naming the
set (the path a user's multi-lead file takes), output at 500 Hz, scored by
:func:`training.metrics.score` on the leads the set leaves to estimate. The floor of each set is
least-squares FIR filters from its given leads to all 12 (:func:`training.anylead.fit_floor`),
fitted on folds 1-8 of the training cache and applied to the same conditioned inputs. Fold 10
is never read.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import ecg12
from ecg12.leads import LEAD_NAMES
from ecg12.pipeline import to_rate
from ecg12.preprocess import preprocess
from training import anylead, harness
from training.calibrate import set_block, write_trust_by_inputs
from training.cards import REGISTRY
from training.data import DEFAULT_CACHE, DEFAULT_SPEC, TRAIN_FOLDS, VALID_FOLD, Cache
from training.harness import (
    FS,
    fold_records,
    reconstruct_fold,
    record_leads,
    record_rate,
    write_json,
)
from training.metrics import PRECORDIAL, score

#: Training records the floors are fitted on (drawn with seed 0): their fit is flat by then.
FLOOR_RECORDS = 4000
SUMMARY = ("mean_r", "mae_mv", "v1_v6_r", "v1_v6_amplitude_slope", "v1_v6_amplitude_r2")


def estimated(present: np.ndarray) -> tuple[str, ...]:
    return tuple(n for n, p in zip(LEAD_NAMES, present, strict=True) if not p)


def floor_fold(records: list, present: np.ndarray, fir: np.ndarray) -> np.ndarray:
    """The floor's 12 leads at 500 Hz for ``records``, from inputs conditioned as the runtime
    conditions them."""
    spec = DEFAULT_SPEC
    out = []
    for record in records:
        leads = preprocess(record_leads(record), record_rate(record), spec, axis=0) * spec.scale_mv
        rec = anylead.apply_floor(leads[None], present, fir)[0]
        out.append(to_rate(rec, spec.fs, FS))
    return np.stack(out)


def _summary(s: dict) -> dict:
    return {k: s[k] for k in SUMMARY} | {"records": s["records"]}


def _parts(real: np.ndarray, rec: np.ndarray, rates: np.ndarray, leads: tuple) -> dict:
    return {
        f"{rate:g} Hz": _summary(score(real[sel], rec[sel], FS, leads))
        for rate in sorted(set(rates.tolist()), reverse=True)
        if (sel := rates == rate).any()
    }


def run(
    ptbxl: Path,
    ptbxl100: Path | None,
    model_name: str,
    cache_path: Path,
    limit: int | None,
    trust_command: str = "",
) -> dict:
    """Scores of every input set of :data:`training.anylead.EVAL_SETS`; with ``trust_command``
    also each set's calibration (:func:`training.calibrate.set_block`), fitted on the same
    reconstructions, under ``results["trust"]``."""
    records = fold_records(ptbxl, VALID_FOLD, limit, ptbxl100=ptbxl100)
    model = ecg12.load(model_name, device="cpu")
    cache = Cache.load(cache_path)
    train = cache.select(TRAIN_FOLDS)
    train = np.sort(np.random.default_rng(0).permutation(train)[:FLOOR_RECORDS])
    train_leads = cache.leads_mv(train)
    default = reconstruct_fold(ecg12.load(device="cpu"), records)
    results = {
        "default": {
            "model": ecg12.load_registry().default,
            "scores": _summary(score(default.real, default.rec, FS)),
        },
        "sets": {},
    }
    for names in anylead.EVAL_SETS:
        present = anylead.mask(names)
        leads = estimated(present)
        t0 = time.perf_counter()
        out = reconstruct_fold(model, records, leads=names)
        seconds = time.perf_counter() - t0
        ours = score(out.real, out.rec, FS, leads)
        fir = anylead.fit_floor(train_leads, present)
        floor = floor_fold(records, present, fir)
        kept = np.isin([r.ecg_id for r in records], out.ecg_ids)
        key = anylead.set_name(present)
        if trust_command:
            given = tuple(n for n in LEAD_NAMES if n not in leads)
            results.setdefault("trust", {})[key] = set_block(out, given, trust_command)
        results["sets"][key] = {
            "asked": list(names),
            "estimated": list(leads),
            "refused": out.refused,
            "seconds_per_record": seconds / len(records),
            "model": _summary(ours) | {"per_lead_r": _per_lead_r(ours)},
            "parts": _parts(out.real, out.rec, out.source_fs, leads),
            "floor": _summary(score(out.real, floor[kept], FS, leads)),
            "default_same_leads": _summary(score(default.real, default.rec, FS, leads)),
        }
        print(
            f"{key}: r {ours['mean_r']:.3f} (floor {results['sets'][key]['floor']['mean_r']:.3f})"
        )
    results["targets"] = targets(results)
    return results


def _per_lead_r(s: dict) -> dict:
    return {n: round(v["r"], 4) for n, v in s["per_lead"].items()}


def targets(results: dict) -> list[dict]:
    """Issue 14's targets, each with the two numbers it compares."""
    sets = results["sets"]
    limb = sets[anylead.set_name(anylead.mask(anylead.LIMB))]
    ii, lead_i = sets["II"], sets["I"]
    ref = limb["default_same_leads"]
    return [
        {
            "target": "from I + II: V1-V6 r at least 0.03 above the Lead I default's",
            "ours": limb["model"]["v1_v6_r"],
            "reference": ref["v1_v6_r"],
            "met": limb["model"]["v1_v6_r"] >= ref["v1_v6_r"] + 0.03,
        },
        {
            "target": "from I + II: V1-V6 amplitude R^2 at least 0.10 above the Lead I default's",
            "ours": limb["model"]["v1_v6_amplitude_r2"],
            "reference": ref["v1_v6_amplitude_r2"],
            "met": limb["model"]["v1_v6_amplitude_r2"] >= ref["v1_v6_amplitude_r2"] + 0.10,
        },
        {
            "target": "from II: mean r over the 11 other leads at least 0.05 above the floor",
            "ours": ii["model"]["mean_r"],
            "reference": ii["floor"]["mean_r"],
            "met": ii["model"]["mean_r"] >= ii["floor"]["mean_r"] + 0.05,
        },
        {
            "target": "from I: r no lower than the Lead I default's",
            "ours": lead_i["model"]["mean_r"],
            "reference": lead_i["default_same_leads"]["mean_r"],
            "met": lead_i["model"]["mean_r"] >= lead_i["default_same_leads"]["mean_r"],
        },
        {
            "target": "from I: MAE no higher than the Lead I default's",
            "ours": lead_i["model"]["mae_mv"],
            "reference": lead_i["default_same_leads"]["mae_mv"],
            "met": lead_i["model"]["mae_mv"] <= lead_i["default_same_leads"]["mae_mv"],
        },
    ]


def _f(x: float, spec: str = ".3f") -> str:
    return "-" if x is None or not np.isfinite(x) else format(x, spec)


def render(results: dict, model: str, command: str) -> str:
    default = results["default"]["model"]
    lines = [
        f"# `{model}` by input set (PTB-XL fold {VALID_FOLD})",
        "",
        "Generated by `training/input_sets.py`; do not edit by hand:",
        "",
        "```",
        command,
        "```",
        "",
        "Each fold-9 record went through the public API as its 12-lead array with `leads=` "
        "naming the set, output at 500 Hz. Scores are over the leads the set leaves to "
        "estimate (given leads are passed through; two or more limb leads determine all six). "
        "The floor is least-squares FIR filters from the same given leads, fitted on "
        f"{FLOOR_RECORDS:,} records of folds 1-8. r, MAE: 0.5-40 Hz; amplitude: p1-p99 per "
        "lead, slope and R^2 of ours on real across records (docs/results.md).",
        "",
        "| given leads | records | r | MAE (mV) | V1-V6 r | V1-V6 amp slope | V1-V6 amp R^2 | "
        "floor r | floor MAE | floor V1-V6 amp R^2 | CPU s / record |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, s in results["sets"].items():
        m, f = s["model"], s["floor"]
        lines.append(
            f"| {key.replace('+', ', ')} | {m['records']:,} | {_f(m['mean_r'])} | "
            f"{_f(m['mae_mv'], '.4f')} | {_f(m['v1_v6_r'])} | "
            f"{_f(m['v1_v6_amplitude_slope'], '.2f')} | {_f(m['v1_v6_amplitude_r2'], '.2f')} | "
            f"{_f(f['mean_r'])} | {_f(f['mae_mv'], '.4f')} | {_f(f['v1_v6_amplitude_r2'], '.2f')} "
            f"| {s['seconds_per_record']:.3f} |"
        )
    d = results["default"]["scores"]
    lines += [
        "",
        f"The Lead I default (`{default}`) on the same records, from Lead I: r "
        f"{d['mean_r']:.3f}, MAE {d['mae_mv']:.4f} mV, V1-V6 r {d['v1_v6_r']:.3f}, V1-V6 "
        f"amplitude slope {d['v1_v6_amplitude_slope']:.2f}, R^2 {d['v1_v6_amplitude_r2']:.2f}.",
        "",
        "## By recording rate",
        "",
        "| given leads | part | records | r | MAE (mV) | V1-V6 amp R^2 |",
        "|---|---|---|---|---|---|",
    ]
    for key, s in results["sets"].items():
        for part, p in s["parts"].items():
            lines.append(
                f"| {key.replace('+', ', ')} | {part} | {p['records']:,} | {_f(p['mean_r'])} | "
                f"{_f(p['mae_mv'], '.4f')} | {_f(p['v1_v6_amplitude_r2'], '.2f')} |"
            )
    lines += ["", "## Per lead r", ""]
    header = [n for n in LEAD_NAMES]
    lines += [
        "| given leads | " + " | ".join(header) + " |",
        "|---|" + "---|" * len(header),
    ]
    for key, s in results["sets"].items():
        r = s["model"]["per_lead_r"]
        cells = [_f(r[n], ".2f") if n in r else "given" for n in header]
        lines.append(f"| {key.replace('+', ', ')} | " + " | ".join(cells) + " |")
    if "trust" in results:
        lines += [
            "",
            "## Expected error by input set",
            "",
            "Each set's calibration (`trust_by_inputs` in the card), fitted on these "
            "reconstructions; out-of-fold (5-fold over records) Spearman of expected vs actual "
            "MAE per lead, against expected error proportional to the first given lead's "
            "amplitude, and how often the actual MAE fell in the 80 % interval.",
            "",
            "| given leads | Spearman | trivial | 80 % interval holds |",
            "|---|---|---|---|",
        ]
        for key, block in results["trust"].items():
            v = block["validation"]
            lines.append(
                f"| {key.replace('+', ', ')} | {v['spearman']['mean']:.2f} | "
                f"{v['trivial']['mean']:.2f} | {v['coverage80']['overall']:.1%} |"
            )
    lines += ["", "## Targets (issue 14)", "", "| target | ours | compared with | met |"]
    lines.append("|---|---|---|---|")
    for t in results["targets"]:
        lines.append(
            f"| {t['target']} | {t['ours']:.3f} | {t['reference']:.3f} | "
            f"{'yes' if t['met'] else 'no'} |"
        )
    lines += [
        "",
        f"V1-V6 scores cover the chest leads each set estimates ({', '.join(PRECORDIAL)} less "
        "those given). Data: PTB-XL 1.0.3 (Wagner et al. 2020), CC BY 4.0.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--ptbxl", type=Path, required=True)
    p.add_argument("--ptbxl100", type=Path, default=None)
    p.add_argument("--model", required=True, help="a registered any-lead model")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE / "ptbxl-all-250hz.npz")
    p.add_argument("--limit", type=int, default=None, help="records per folder (smoke tests)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument(
        "--write-trust",
        action="store_true",
        help="also calibrate each set's expected error on the same reconstructions and store "
        "the blocks in the card's trust_by_inputs (the package registry)",
    )
    args = p.parse_args(argv)
    command = harness.command("training.input_sets", argv)
    results = run(
        args.ptbxl,
        args.ptbxl100,
        args.model,
        args.cache,
        args.limit,
        command if args.write_trust else "",
    )
    if args.write_trust:
        write_trust_by_inputs(args.model, results["trust"], REGISTRY)
        print(f"wrote {len(results['trust'])} calibrations of '{args.model}' into {REGISTRY}")
    args.out.write_text(render(results, args.model, command))
    if args.json:
        write_json(args.json, results | {"command": command})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
