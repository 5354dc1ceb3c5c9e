"""Blinded clinician review, as in the EKGAN paper: can readers tell real ECGs from generated ones?

    python -m training.review_kit --ptbxl ../shared/data/ptbxl --fold 9 -n 50 --model ekgan \\
        --out review/
    python -m training.review_kit score --key review/key.csv reader-a.csv reader-b.csv

Building draws N records of the fold (seeded) and reconstructs each from its real Lead I at 500 Hz
through ``ecg12.load(model).reconstruct_many``. The real 12 leads go through the same pipeline as
if a perfect model had predicted them (the model's conditioning and rate, back to 500 Hz, limb
leads from I and II), then both are band-passed 0.5-40 Hz (:func:`training.metrics.eval_band`).
So Lead I is the same on both pages and nothing but the other eleven waveforms differs. The 2N
ECGs are shuffled into ``packet.pdf`` (page k is "Case k"), ``answer-sheet.csv`` lists the cases
for the reader, and ``key.csv`` (case, ecg_id, truth, model) stays with whoever runs the study.
Before the packet is kept it is audited: every page must show the same text apart from its case
number, have the same size, and no answer or record name may appear in its bytes.

Scoring reports accuracy per reader and pooled with 95 % Wilson intervals: 50 % means the readers
could not tell the two apart. See docs/review-kit.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import re
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import ecg12
from ecg12.inference import finish
from ecg12.pipeline import to_rate
from ecg12.plot import plot_12lead
from ecg12.preprocess import PreprocessSpec, preprocess
from ecg12.writers import atomic_file
from training.data import TEST_FOLD, VALID_FOLD, PtbxlRecord
from training.harness import FS, fold_records, reconstruct_fold
from training.metrics import eval_band
from training.stats import wilson

PACKET, SHEET, KEY = "packet.pdf", "answer-sheet.csv", "key.csv"
ANSWERS = ("real", "generated")
#: Real and generated Lead I must agree to float32 rounding, or the pages would differ in it.
LEAD_I_TOLERANCE_MV = 1e-3
#: Words that would give answers away if any reached the packet (checked case-insensitively).
GIVEAWAYS = ("real", "generated", "reconstructed", "synthetic", "ecg_id", "ptb", "ecg12")
#: Neutral PDF metadata; None drops matplotlib's Creator/Producer/date entries.
PDF_METADATA = {
    "Title": "ECG review packet",
    "Author": "Study coordinator",
    "Subject": "Twelve-lead ECGs for review",
    "Keywords": "ECG",
    "Creator": None,
    "Producer": None,
    "CreationDate": None,
}
SHEET_NOTE = (
    "# ECG review answer sheet. For every case in the packet write real or generated "
    "in the answer column.",
    "# Judge each page on its own; leave no case blank.",
)


@dataclass(frozen=True)
class Case:
    """One page of the packet and its answer."""

    number: int
    ecg_id: int
    truth: str  # 'real' or 'generated'
    signal: np.ndarray  # samples x 12, mV at FS, as drawn


def as_if_predicted(real: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """Real 12 leads (mV at FS) through the reconstruction pipeline as a perfect model's output.

    This is what makes the real Lead I match the generated one: the reconstruction's Lead I is
    the conditioned input, resampled back to FS with the limb leads re-derived.
    """
    conditioned = preprocess(real, FS, spec, axis=0)
    return to_rate(finish(conditioned, conditioned[:, 0], spec), spec.fs, FS)


def blinded_pair(
    real: np.ndarray, rec: np.ndarray, spec: PreprocessSpec
) -> tuple[np.ndarray, np.ndarray]:
    """The real and generated ECG of one record, processed alike, as the packet shows them."""
    shown = eval_band(np.stack([as_if_predicted(real, spec), rec]), FS)
    if shown[0].shape != shown[1].shape:
        raise RuntimeError(f"real {shown[0].shape} and generated {shown[1].shape} differ in length")
    gap = float(np.max(np.abs(shown[0, :, 0] - shown[1, :, 0])))
    if not gap < LEAD_I_TOLERANCE_MV:
        raise RuntimeError(
            f"real and generated Lead I differ by up to {gap:.3g} mV; the pages would not be blind"
        )
    return shown[0], shown[1]


def draw_pairs(
    model: ecg12.Model, records: list[PtbxlRecord], n: int, seed: int
) -> tuple[list[int], list[tuple[np.ndarray, np.ndarray]], list[dict]]:
    """The first ``n`` records in a seeded random order that the API accepts, as blinded pairs.

    Returns their ecg_ids, (real, generated) pairs and the records the API refused on the way.
    """
    if n > len(records):
        raise ValueError(f"asked for {n} records but only {len(records)} are present")
    rng = np.random.default_rng(seed)
    order = [records[i] for i in rng.permutation(len(records))]
    ids: list[int] = []
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    refused: list[dict] = []
    pos = 0
    while len(ids) < n:
        if pos >= len(order):
            raise ValueError(f"only {len(ids)} of the fold's records were usable, {n} asked for")
        # A few spare records per call, so one refused input does not cost a call of its own.
        part = order[pos : pos + n - len(ids) + 4]
        pos += len(part)
        out = reconstruct_fold(model, part)
        refused += out.refused
        for ecg_id, real, rec in zip(out.ecg_ids, out.real, out.rec, strict=True):
            if len(ids) < n:
                ids.append(ecg_id)
                pairs.append(blinded_pair(real, rec, model.spec))
    return ids, pairs, refused


def shuffle_cases(
    ids: list[int], pairs: list[tuple[np.ndarray, np.ndarray]], seed: int
) -> list[Case]:
    """Both ECGs of every record in one seeded random order, numbered from 1."""
    items = [
        (i, truth, sig)
        for i, pair in zip(ids, pairs, strict=True)
        for truth, sig in zip(ANSWERS, pair, strict=True)
    ]
    # A generator of its own: the page order must not depend on how many records were refused.
    order = np.random.default_rng([seed, 1]).permutation(len(items))
    return [Case(k + 1, *items[j]) for k, j in enumerate(order)]


def render_packet(cases: list[Case]) -> bytes:
    """The packet as PDF bytes: one case per page, each drawn identically but for its data."""
    from matplotlib.backends.backend_pdf import PdfPages

    buf = io.BytesIO()
    with PdfPages(buf, metadata=PDF_METADATA) as pdf:
        for case in cases:
            pdf.savefig(plot_12lead(case.signal, FS, title=f"Case {case.number}"))
    return buf.getvalue()


# matplotlib ends a stream with "\nendstream"; a deflated stream may itself end in a "\r".
_STREAM = re.compile(rb"\bstream\r?\n(.*?)\nendstream", re.S)
_TEXT_OP = re.compile(rb"\[([^\]]*)\]\s*TJ|(\((?:[^()\\]|\\.)*\))\s*Tj")
_STRING = re.compile(rb"\(((?:[^()\\]|\\.)*)\)")
_PAGE = re.compile(rb"/Type\s*/Page\b")
_MEDIABOX = re.compile(rb"/MediaBox\s*\[([^\]]*)\]")


@dataclass(frozen=True)
class PacketView:
    """What a PDF packet holds, as a reader (or a leak) could find it."""

    searchable: bytes  # everything outside streams (metadata included) plus every inflated stream
    page_texts: list[list[str]]  # the strings each page draws, in order
    page_count: int
    page_sizes: list[str]  # MediaBox of each page


def inspect_packet(data: bytes) -> PacketView:
    """Inflate a matplotlib PDF and read back its pages' text and sizes."""
    streams = []
    for m in _STREAM.finditer(data):
        try:
            streams.append(zlib.decompress(m.group(1)))
        except zlib.error:  # not deflated: searchable as it is
            streams.append(m.group(1))
    pages = []
    for body in streams:
        texts = [
            b"".join(_STRING.findall(arr or one)).decode("latin-1")
            for arr, one in _TEXT_OP.findall(body)
        ]
        if texts:  # matplotlib writes one content stream per page, in page order
            pages.append(texts)
    sizes = [" ".join(m.group(1).decode().split()) for m in _MEDIABOX.finditer(data)]
    return PacketView(
        _STREAM.sub(b"stream endstream", data) + b"\n".join(streams),
        pages,
        len(_PAGE.findall(data)),
        sizes,
    )


def audit_packet(data: bytes, names: list[str]) -> None:
    """Refuse a packet whose bytes or pages could tell a reader which case is which.

    ``names`` are further strings that must not appear: the model's name, the records' names.
    """
    view = inspect_packet(data)
    # Drawn text is kerned into pieces in the page streams; search it joined up as well.
    drawn = "\n".join(t for page in view.page_texts for t in page).encode("latin-1")
    text = (view.searchable + b"\n" + drawn).lower()
    problems = [
        f"{word!r} appears in the PDF"
        for word in (*GIVEAWAYS, *names)
        if word.lower().encode() in text
    ]
    titles = [f"Case {k}" for k in range(1, view.page_count + 1)]
    if len(view.page_texts) != view.page_count or len(set(view.page_sizes)) != 1:
        problems.append("pages differ in size or could not all be read back")
    else:
        pages = list(zip(view.page_texts, titles, strict=True))
        if any(title not in page for page, title in pages):
            problems.append("page titles are not Case 1, Case 2, ... in page order")
        rest = [[t for t in page if t != title] for page, title in pages]
        if any(r != rest[0] for r in rest):
            problems.append("pages show different text apart from their case numbers")
    if problems:
        raise RuntimeError("the packet would give answers away: " + "; ".join(problems))


def _write_atomic(path: Path, data: bytes) -> None:
    with atomic_file(path) as f:
        f.write(data)


def _csv_text(rows: list[list[object]], notes: tuple[str, ...] = ()) -> bytes:
    buf = io.StringIO()
    buf.writelines(f"{note}\n" for note in notes)
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode()


def build_kit(
    ptbxl: Path,
    folds: list[int],
    n: int,
    out: Path,
    *,
    model: str | None = None,
    seed: int = 0,
    registry: Path | None = None,
    allow_test_fold: bool = False,
) -> tuple[list[Case], list[dict]]:
    """Write packet.pdf, answer-sheet.csv and key.csv for ``n`` records into ``out``.

    Returns the cases and the records the API refused (the draw moved on to the next ones).
    """
    paths = [out / name for name in (PACKET, SHEET, KEY)]
    existing = [str(p) for p in paths if p.exists()]
    if existing:  # packets already handed out must keep matching their key
        raise FileExistsError(f"a kit is already there ({', '.join(existing)}); pick a new --out")
    records = [
        r
        for fold in sorted(set(folds))
        for r in fold_records(ptbxl, fold, allow_test_fold=allow_test_fold)
    ]
    loaded = ecg12.load(model, device="cpu", registry=ecg12.load_registry(registry))
    ids, pairs, refused = draw_pairs(loaded, records, n, seed)
    cases = shuffle_cases(ids, pairs, seed)
    packet = render_packet(cases)
    by_id = {r.ecg_id: r for r in records}
    audit_packet(packet, [loaded.name, *(by_id[i].path.name for i in ids)])
    card = loaded.card
    key = [["case", "ecg_id", "truth", "model", "model_version"]]
    key += [[c.number, c.ecg_id, c.truth, card.name, card.version] for c in cases]
    out.mkdir(parents=True, exist_ok=True)
    _write_atomic(paths[0], packet)
    _write_atomic(
        paths[1], _csv_text([["case", "answer"]] + [[c.number, ""] for c in cases], SHEET_NOTE)
    )
    _write_atomic(paths[2], _csv_text(key))
    return cases, refused


class SheetError(ValueError):
    """A key or answer sheet that cannot be scored; the message names the file and line."""


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, cells) of a CSV, without comment lines ('#') and empty rows."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # spreadsheets often add a byte-order mark
    except (OSError, UnicodeDecodeError) as exc:
        raise SheetError(f"{path}: cannot read: {exc}") from None
    lines = text.splitlines()
    header = next((ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")), "")
    # Spreadsheets in many locales save with ';' between cells.
    delimiter = ";" if ";" in header and "," not in header else ","
    rows = []
    for number, cells in enumerate(csv.reader(lines, delimiter=delimiter), start=1):
        cells = [c.strip() for c in cells]
        if any(cells) and not cells[0].startswith("#"):
            rows.append((number, cells))
    return rows


def _table(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    rows = _rows(path)
    if not rows:
        raise SheetError(f"{path}: empty")
    line, header = rows[0]
    header = [h.lower() for h in header]
    missing = [c for c in columns if c not in header]
    if missing:
        raise SheetError(f"{path}:{line}: header lacks column(s) {', '.join(missing)}")
    return [
        (n, {c: cells[header.index(c)] if header.index(c) < len(cells) else "" for c in columns})
        for n, cells in rows[1:]
    ]


def _case_number(path: Path, line: int, cell: str) -> int:
    try:
        return int(cell)
    except ValueError:
        raise SheetError(f"{path}:{line}: case {cell!r} is not a number") from None


def read_key(path: Path) -> dict[int, str]:
    """case -> 'real' or 'generated' from a kit's key.csv."""
    key: dict[int, str] = {}
    for line, row in _table(path, ("case", "truth")):
        case = _case_number(path, line, row["case"])
        if row["truth"] not in ANSWERS or case in key:
            raise SheetError(f"{path}:{line}: bad or repeated entry for case {case}")
        key[case] = row["truth"]
    return key


def read_sheet(path: Path, key: dict[int, str]) -> dict[int, str]:
    """A reader's answers, refused unless every case of the key has one valid answer."""
    answers: dict[int, str] = {}
    for line, row in _table(path, ("case", "answer")):
        case = _case_number(path, line, row["case"])
        answer = row["answer"].lower()
        if case not in key:
            raise SheetError(f"{path}:{line}: case {case} is not in the key")
        if case in answers:
            raise SheetError(f"{path}:{line}: case {case} answered twice")
        if not answer:
            raise SheetError(f"{path}:{line}: case {case} has no answer")
        if answer not in ANSWERS:
            raise SheetError(
                f"{path}:{line}: case {case}: answer {row['answer']!r} is not 'real' or 'generated'"
            )
        answers[case] = answer
    missing = sorted(set(key) - set(answers))
    if missing:
        raise SheetError(f"{path}: no answer for case(s) {', '.join(map(str, missing))}")
    return answers


@dataclass(frozen=True)
class ReaderScore:
    """One reader's (or the pooled) counts: right answers, and generated cases called generated."""

    reader: str
    cases: int
    correct: int
    generated: int
    spotted: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.cases

    @property
    def sensitivity(self) -> float:
        return self.spotted / self.generated if self.generated else math.nan


def score_sheets(key: dict[int, str], sheets: dict[str, dict[int, str]]) -> list[ReaderScore]:
    """One score per reader, then the pooled score of all readers when there are several."""
    generated = [c for c, truth in key.items() if truth == "generated"]
    scores = []
    for reader, answers in sheets.items():
        scores.append(
            ReaderScore(
                reader,
                len(key),
                sum(answers[c] == truth for c, truth in key.items()),
                len(generated),
                sum(answers[c] == "generated" for c in generated),
            )
        )
    if len(scores) > 1:
        scores.append(
            ReaderScore(
                "pooled",
                *(
                    sum(getattr(s, f) for s in scores)
                    for f in ("cases", "correct", "generated", "spotted")
                ),
            )
        )
    return scores


def _pct(k: int, n: int) -> str:
    lo, hi = wilson(k, n)
    return f"{100 * k / n:5.1f} % ({100 * lo:.1f}-{100 * hi:.1f})" if n else "–"


def format_scores(scores: list[ReaderScore]) -> str:
    """A plain-text table of accuracy and sensitivity with their 95 % Wilson intervals."""
    width = max(len(s.reader) for s in scores)
    lines = [f"{'reader':<{width}}  cases  accuracy (95 % CI)     generated spotted (95 % CI)"]
    lines += [
        f"{s.reader:<{width}}  {s.cases:5d}  {_pct(s.correct, s.cases):<21}  "
        f"{_pct(s.spotted, s.generated)}"
        for s in scores
    ]
    lines += [
        "",
        "50 % accuracy: real and generated ECGs indistinguishable. An interval that",
        "contains 50 % gives no evidence that the reader could tell them apart.",
    ]
    return "\n".join(lines)


def score_main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(
        prog="python -m training.review_kit score",
        description="Score filled-in answer sheets against a kit's key.",
    )
    p.add_argument("--key", type=Path, required=True, help="key.csv of the kit")
    p.add_argument("sheets", type=Path, nargs="+", help="one filled-in answer sheet per reader")
    args = p.parse_args(argv)
    try:
        key = read_key(args.key)
        sheets = {str(s): read_sheet(s, key) for s in args.sheets}
    except SheetError as exc:
        p.exit(1, f"error: {exc}\n")
    print(format_scores(score_sheets(key, sheets)))


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["score"]:
        score_main(argv[1:])
        return
    p = argparse.ArgumentParser(
        prog="python -m training.review_kit",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--ptbxl", type=Path, required=True, help="PTB-XL root (ptbxl_database.csv)")
    p.add_argument(
        "--fold",
        type=int,
        action="append",
        help=f"fold to draw from (repeatable; default {VALID_FOLD})",
    )
    p.add_argument(
        "--i-know-this-is-the-test-fold",
        dest="test_fold",
        action="store_true",
        help=f"allow fold {TEST_FOLD}",
    )
    p.add_argument("-n", type=int, default=50, help="records; the packet has twice as many pages")
    p.add_argument("--model", default=None, help="model name (default: the registry's default)")
    p.add_argument("--registry", type=Path, default=None, help="registry.json (default: package's)")
    p.add_argument("--seed", type=int, default=0, help="choice of records and page order")
    p.add_argument("--out", type=Path, required=True, help="new folder for the kit")
    args = p.parse_args(argv)
    folds = args.fold or [VALID_FOLD]
    if TEST_FOLD in folds and not args.test_fold:
        p.error(f"fold {TEST_FOLD} is the test fold; pass --i-know-this-is-the-test-fold")
    if args.n < 1:
        p.error("-n must be at least 1")
    t0 = time.perf_counter()
    try:
        cases, refused = build_kit(
            args.ptbxl,
            folds,
            args.n,
            args.out,
            model=args.model,
            seed=args.seed,
            registry=args.registry,
            allow_test_fold=args.test_fold,
        )
    except (FileExistsError, ValueError, ecg12.ModelError) as exc:
        p.exit(1, f"error: {exc}\n")
    for r in refused:
        print(f"skipped ecg_id {r['ecg_id']}: {r['error']}", file=sys.stderr)
    size = (args.out / PACKET).stat().st_size
    print(
        f"wrote {args.out / PACKET} ({len(cases)} pages, {size / 1e6:.1f} MB) and "
        f"{args.out / SHEET} for the readers; {args.out / KEY} is the answer key: keep it from "
        f"them ({time.perf_counter() - t0:.0f} s)"
    )


if __name__ == "__main__":
    main()
