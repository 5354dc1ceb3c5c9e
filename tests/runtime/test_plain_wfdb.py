"""The direct reader of plain WFDB records gives exactly what ``wfdb`` gives, and leaves every
other record to ``wfdb``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb

from ecg12.formats import Parsed, physionet
from ecg12.formats.plain_wfdb import plain_header

EXAMPLES = Path(__file__).parents[2] / "examples"


def header(record: Path) -> str:
    return Path(f"{record}.hea").read_text(encoding="latin-1")


def assert_same(fast: Parsed, slow: Parsed) -> None:
    """Two parses agree bit for bit: values (NaN where missing), rates, names, units, comments."""
    assert [c.name for c in fast.channels] == [c.name for c in slow.channels]
    assert [c.unit for c in fast.channels] == [c.unit for c in slow.channels]
    assert [c.fs for c in fast.channels] == [c.fs for c in slow.channels]
    assert fast.comments == slow.comments and fast.format == slow.format
    for a, b in zip(fast.channels, slow.channels, strict=True):
        assert a.values.dtype == b.values.dtype == np.float64
        np.testing.assert_array_equal(a.values, b.values)


def both_ways(record: Path, span: tuple[int, int] | None = None) -> tuple[Parsed, Parsed]:
    """The record read by ecg12 (the direct reader where it is plain) and through wfdb."""
    fs = physionet._header_rate(header(record).split()[2])
    return physionet.read_wfdb(record, span), physionet._rdrecord(record, fs, span)


def write(tmp_path: Path, fmt: str, n: int, channels: int = 3, **extra) -> Path:
    """A record written by wfdb itself in ``fmt``, with a missing sample and the extremes."""
    rng = np.random.default_rng(n + channels)
    top = {"16": 32767, "212": 2047, "80": 127}[fmt]
    digital = rng.integers(-top, top + 1, size=(n, channels))
    digital[0, :] = top
    digital[1, :] = -top
    digital[n // 2, 0] = -top - 1  # wfdb's mark of a missing sample
    wfdb.wrsamp(
        f"r{fmt}",
        fs=360,
        units=["mV", "uV", "mV"][:channels],
        sig_name=["MLII", "V 5", "I"][:channels],
        d_signal=digital.astype(np.int32 if fmt == "16" else np.int16),
        fmt=[fmt] * channels,
        adc_gain=[200.0, 1000.5, 31.25][:channels],
        baseline=[1024, 0, -7][:channels],
        comments=["age: 61", "  spaced  comment "],
        write_dir=str(tmp_path),
        **extra,
    )
    return tmp_path / f"r{fmt}"


@pytest.mark.parametrize("fmt", ["16", "212", "80"])
@pytest.mark.parametrize("n", [1, 2, 5, 1001])
def test_written_by_wfdb(tmp_path: Path, fmt: str, n: int) -> None:
    record = write(tmp_path, fmt, max(n, 3), channels=3 if n != 2 else 1)
    assert plain_header(record, header(record)) is not None
    fast, slow = both_ways(record)
    assert_same(fast, slow)
    assert np.isnan(fast.channels[0].values).sum() == 1


@pytest.mark.parametrize("fmt", ["16", "212", "80"])
@pytest.mark.parametrize("channels", [1, 3])
def test_spans(tmp_path: Path, fmt: str, channels: int) -> None:
    """Spans starting and ending inside a 212 byte triplet, single and multi-channel."""
    record = write(tmp_path, fmt, 1001, channels)
    for span in [(0, 1), (1, 2), (3, 10), (7, 8), (0, 1001), (500, 1001)]:
        assert_same(*both_ways(record, span))


def test_examples_are_plain_and_match_wfdb() -> None:
    records = sorted(p.with_suffix("") for p in EXAMPLES.glob("*.hea"))
    assert records
    for record in records:
        assert plain_header(record, header(record)) is not None, record
        assert_same(*both_ways(record))


def test_real_records_match_wfdb(shared_data: Path) -> None:
    """Every WFDB fixture and 40 PTB-XL records (FLAC, so not plain), read as wfdb reads them."""
    records = sorted(p.with_suffix("") for p in (shared_data / "fixtures").rglob("*.hea"))
    records += sorted(p.with_suffix("") for p in (shared_data / "ptbxl").rglob("*.hea"))[:40]
    plain = []
    for record in records:
        text = header(record)
        first = text.split("\n", 1)[0].split()
        if len(first) > 4 and not physionet._is_wfdb_time(first[4:]):
            continue  # read through a cleaned copy; covered in test_readers
        if plain_header(record, text) is not None:
            plain.append(record)
        if "/" in first[0]:
            continue  # multi-segment: wfdb alone
        assert_same(*both_ways(record))
    native = [r for r in records if "ptbxl-native" in str(r)]
    assert native and set(native) <= set(plain)  # PhysioNet's own PTB-XL files are plain


@pytest.mark.parametrize(
    "change",
    [
        ("16 1000.0(0)/mV", "16x2 1000.0(0)/mV"),  # two samples per frame
        ("16 1000.0(0)/mV", "16+24 1000.0(0)/mV"),  # byte offset
        ("16 1000.0(0)/mV", "16:1 1000.0(0)/mV"),  # skew
        ("16 1000.0(0)/mV", "24 1000.0(0)/mV"),  # another format
        ("1000.0(0)/mV", "1000.0/mV"),  # baseline from adc zero
        ("1000.0(0)/mV", "1000.0(0)"),  # units left to the default
        ("1000.0(0)/mV", "0(0)/mV"),  # gain 0 means 200
        ("1000.0(0)/mV", "1E3(0)/mV"),  # a number wfdb parses its own way
        (" 0 I", " 0"),  # no description
        (" 0 I", " 512 I"),  # a block size
        ("lead_i 1 500 15000", "lead_i 1 500/1000 15000"),  # a counter frequency
        ("lead_i 1 500 15000", "lead_i 1 500"),  # no length
        ("lead_i 1 500 15000", "lead_i 1 500 14999"),  # a file longer than the header says
        ("lead_i 1 500 15000", "lead_i 1 500 15001"),  # shorter
        ("lead_i.dat 16", "other.dat 16"),  # a missing signal file
    ],
)
def test_anything_else_is_left_to_wfdb(tmp_path: Path, change: tuple[str, str]) -> None:
    text = header(EXAMPLES / "lead_i")
    assert change[0] in text
    (tmp_path / "lead_i.hea").write_text(text.replace(change[0], change[1]), encoding="latin-1")
    (tmp_path / "lead_i.dat").write_bytes((EXAMPLES / "lead_i.dat").read_bytes())
    assert plain_header(tmp_path / "lead_i", header(tmp_path / "lead_i")) is None


def test_sliceable_length_from_the_plain_header() -> None:
    assert physionet.sliceable_length(EXAMPLES / "lead_i") == 15000
    assert physionet.sliceable_length(EXAMPLES / "holter_mlii_v5") == 10800
