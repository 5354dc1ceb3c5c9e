"""training.review_kit: a blinded packet from real PTB-XL records and a tiny real ONNX model, and
known-answer checks of the scorer."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

import ecg12
from ecg12.leads import LEAD_NAMES
from ecg12.plot import plot_12lead
from training.data import load_record, read_index
from training.metrics import eval_band
from training.review_kit import (
    KEY,
    PACKET,
    PDF_METADATA,
    SHEET,
    SheetError,
    audit_packet,
    blinded_pair,
    inspect_packet,
    main,
    read_key,
    read_sheet,
    score_sheets,
)

FOLDS = ("8", "9")  # ecg_id 12, and 8 and 10, in the fixture
IDS = {8, 10, 12}
N = 3
FS = 500.0


def _build(native: Path, registry: Path, out: Path) -> None:
    main(
        [
            "--ptbxl",
            str(native),
            "--fold",
            FOLDS[0],
            "--fold",
            FOLDS[1],
            "-n",
            str(N),
            "--model",
            "tiny",
            "--registry",
            str(registry),
            "--seed",
            "7",
            "--out",
            str(out),
        ]
    )


@pytest.fixture(scope="module")
def kit(native: Path, tiny_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("review")
    _build(native, tiny_registry, out)
    return out


def _key_rows(kit: Path) -> list[dict[str, str]]:
    with open(kit / KEY, newline="") as f:
        return list(csv.DictReader(f))


def _write_sheet(
    path: Path, answers: dict[int, str], delimiter: str = ",", encoding: str = "utf-8"
) -> Path:
    lines = ["# filled in by a reader", f"case{delimiter}answer"]
    lines += [f"{case}{delimiter}{answer}" for case, answer in answers.items()]
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def test_packet_and_key_agree(kit: Path) -> None:
    rows = _key_rows(kit)
    assert [int(r["case"]) for r in rows] == list(range(1, 2 * N + 1))
    assert {(r["model"], r["model_version"]) for r in rows} == {("tiny", "1.0.0")}
    for truth in ("real", "generated"):  # every record once real and once generated
        assert sorted(int(r["ecg_id"]) for r in rows if r["truth"] == truth) == sorted(IDS)
    view = inspect_packet((kit / PACKET).read_bytes())
    assert view.page_count == 2 * N and len(view.page_texts) == 2 * N
    assert [page[-2] for page in view.page_texts] == [f"Case {r['case']}" for r in rows]


def test_packet_gives_nothing_away(kit: Path) -> None:
    data = (kit / PACKET).read_bytes()
    view = inspect_packet(data)
    text = view.searchable.lower()
    stems = [f"{i:05d}_hr".encode() for i in IDS]
    for word in (
        b"real",
        b"generated",
        b"reconstructed",
        b"tiny",
        b"ecg_id",
        b"matplotlib",
        *stems,
    ):
        assert word not in text, word
    assert b"/Title (ECG review packet)" in data and b"/Author (Study coordinator)" in data
    assert len(view.page_sizes) == 2 * N and len(set(view.page_sizes)) == 1
    # Same text on every page apart from the case number: no ecg_id, tag, legend or model name.
    first = view.page_texts[0]
    assert first[:13] == [
        "I",
        "aVR",
        "V1",
        "V4",
        "II",
        "aVL",
        "V2",
        "V5",
        "III",
        "aVF",
        "V3",
        "V6",
        "II",
    ]
    assert first[-1] == "25 mm/s, 10 mm/mV    500 Hz    0-10 s"
    for k, page in enumerate(view.page_texts, start=1):
        assert page == [*first[:-2], f"Case {k}", first[-1]]


def test_audit_refuses_a_leaky_packet(tmp_path: Path) -> None:
    from matplotlib.backends.backend_pdf import PdfPages

    signal = np.zeros((5000, 12))
    for title, meta, names, problem in (
        ("Case 1 (generated)", PDF_METADATA, [], "'generated' appears"),
        ("Case 1", {**PDF_METADATA, "Author": "tiny"}, ["tiny"], "'tiny' appears"),
        ("Case 2", PDF_METADATA, [], "titles are not"),
    ):
        path = tmp_path / "leaky.pdf"
        with PdfPages(path, metadata=meta) as pdf:
            pdf.savefig(plot_12lead(signal, FS, title=title))
        with pytest.raises(RuntimeError, match=problem):
            audit_packet(path.read_bytes(), names)


def test_real_and_generated_are_processed_alike(native: Path, tiny_registry: Path) -> None:
    """Lead I is the same on both pages; tiny's V1 is 7 x Lead I; the real V1 is the record's."""
    model = ecg12.load("tiny", device="cpu", registry=ecg12.load_registry(tiny_registry))
    (record,) = [r for r in read_index(native) if r.ecg_id == 8]
    leads, _ = load_record(record.path)
    rec = model.reconstruct(leads[:, 0], fs=FS)
    real, generated = blinded_pair(leads, rec.p_signal, model.spec)
    assert real.shape == generated.shape == leads.shape
    np.testing.assert_allclose(real[:, 0], generated[:, 0], atol=1e-4)
    v1 = LEAD_NAMES.index("V1")
    np.testing.assert_allclose(generated[:, v1], 7 * generated[:, 0], atol=1e-3)
    expected = eval_band(leads[None], FS)[0, :, v1]
    assert np.corrcoef(real[:, v1], expected)[0, 1] > 0.99


def test_same_seed_same_kit_and_no_overwrite(
    kit: Path, native: Path, tiny_registry: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    _build(native, tiny_registry, again)
    assert (again / KEY).read_bytes() == (kit / KEY).read_bytes()
    with pytest.raises(SystemExit) as exc:
        _build(native, tiny_registry, again)
    assert exc.value.code == 1


def test_answer_sheet_lists_every_case_blank(kit: Path) -> None:
    lines = (kit / SHEET).read_text().splitlines()
    notes = [ln for ln in lines if ln.startswith("#")]
    assert notes and "real or generated" in notes[0]
    rows = list(csv.reader(ln for ln in lines if not ln.startswith("#")))
    assert rows == [["case", "answer"]] + [[str(k), ""] for k in range(1, 2 * N + 1)]
    with pytest.raises(SheetError, match=rf"{SHEET}:4: case 1 has no answer"):
        read_sheet(kit / SHEET, read_key(kit / KEY))


def test_scores_known_answers(kit: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    key = read_key(kit / KEY)
    # A spreadsheet's way of saving: ';' between cells, a byte-order mark, capitalised answers.
    perfect = _write_sheet(
        tmp_path / "perfect.csv",
        {c: t.title() for c, t in key.items()},
        delimiter=";",
        encoding="utf-8-sig",
    )
    all_real = _write_sheet(tmp_path / "all-real.csv", {c: "real" for c in key})
    sheets = {str(p): read_sheet(p, key) for p in (perfect, all_real)}
    best, naive, pooled = score_sheets(key, sheets)
    assert (best.accuracy, best.sensitivity) == (1.0, 1.0)
    assert (naive.accuracy, naive.sensitivity) == (0.5, 0.0)
    assert (pooled.reader, pooled.cases, pooled.correct) == ("pooled", 12, 9)
    main(["score", "--key", str(kit / KEY), str(perfect), str(all_real)])
    out = capsys.readouterr().out
    # Wilson 95 % intervals (as scipy.stats.binomtest(k, n).proportion_ci("wilson") gives them):
    # 6/6 -> 61.0-100.0 %, 3/3 -> 43.9-100.0 %, 3/6 -> 18.8-81.2 %, 0/3 -> 0.0-56.1 %,
    # 9/12 -> 46.8-91.1 %.
    lines = {ln.split()[0]: " ".join(ln.split()[1:]) for ln in out.splitlines() if ln.strip()}
    assert lines[str(perfect)] == "6 100.0 % (61.0-100.0) 100.0 % (43.9-100.0)"
    assert lines[str(all_real)] == "6 50.0 % (18.8-81.2) 0.0 % (0.0-56.1)"
    assert lines["pooled"] == "12 75.0 % (46.8-91.1) 50.0 % (18.8-81.2)"


@pytest.mark.parametrize(
    "change, message",
    [
        ({2: "maybe"}, r":4: case 2: answer 'maybe' is not 'real' or 'generated'"),
        ({2: None}, r": no answer for case\(s\) 2$"),
        ({9: "real"}, r":9: case 9 is not in the key"),
        ({"two": "real"}, r":9: case 'two' is not a number"),
    ],
)
def test_malformed_sheets_are_refused(
    kit: Path, tmp_path: Path, capsys: pytest.CaptureFixture, change: dict, message: str
) -> None:
    key = read_key(kit / KEY)
    answers = {c: "real" for c in key} | change
    sheet = _write_sheet(
        tmp_path / "reader.csv", {c: a for c, a in answers.items() if a is not None}
    )
    with pytest.raises(SheetError, match=f"^{sheet}{message}"):
        read_sheet(sheet, key)
    with pytest.raises(SystemExit) as exc:
        main(["score", "--key", str(kit / KEY), str(sheet)])
    assert exc.value.code == 1 and f"error: {sheet}:" in capsys.readouterr().err


def test_repeated_case_and_missing_header_are_refused(kit: Path, tmp_path: Path) -> None:
    key = read_key(kit / KEY)
    sheet = tmp_path / "twice.csv"
    sheet.write_text("case,answer\n1,real\n1,generated\n")
    with pytest.raises(SheetError, match=rf"^{sheet}:3: case 1 answered twice"):
        read_sheet(sheet, key)
    sheet.write_text("1,real\n2,real\n")
    with pytest.raises(SheetError, match=rf"^{sheet}:1: header lacks column\(s\) case, answer"):
        read_sheet(sheet, key)
