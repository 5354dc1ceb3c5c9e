"""Writing WFDB, CSV and NPZ: round trips through the readers people use, and safe replacement."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import wfdb

import ecg12
from ecg12.readers import read_recording
from ecg12.writers import open_wfdb, write_record


@pytest.fixture(scope="module")
def record(shared_data: Path) -> wfdb.Record:
    """PTB-XL record 1 (500 Hz, 12 leads, mV) as the signal to write."""
    return wfdb.rdrecord(str(shared_data / "fixtures/ptbxl-native/records500/00000/00001_hr"))


def _write(record: wfdb.Record, path: Path, **kwargs) -> list[Path]:
    return write_record(
        record.p_signal,
        record.fs,
        record.sig_name,
        record.units,
        ["ecg12 reconstruction", "model: test"],
        path,
        **kwargs,
    )


def test_wfdb_round_trip(tmp_path: Path, record: wfdb.Record) -> None:
    written = _write(record, tmp_path / "rec_12lead")
    assert written == [tmp_path / "rec_12lead.dat", tmp_path / "rec_12lead.hea"]
    back = wfdb.rdrecord(str(tmp_path / "rec_12lead"))
    assert (back.fs, back.sig_name, back.units) == (500, record.sig_name, ["mV"] * 12)
    assert back.fmt == ["16"] * 12 and back.adc_gain == [1000.0] * 12 and back.baseline == [0] * 12
    assert back.comments == ["ecg12 reconstruction", "model: test"]
    np.testing.assert_allclose(back.p_signal, record.p_signal, atol=0.5e-3 + 1e-9)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec_12lead.dat", "rec_12lead.hea"]


def test_wfdb_keeps_microvolt_resolution_and_nan(tmp_path: Path) -> None:
    t = np.arange(1000) / 500
    sig = np.column_stack([np.sin(2 * np.pi * t) * 1.2345678, np.full(1000, -32.7)])
    sig[10, 0] = np.nan
    write_record(sig, 500, ["I", "II"], ["mV", "mV"], [], tmp_path / "fine")
    back = wfdb.rdrecord(str(tmp_path / "fine")).p_signal
    assert np.isnan(back[10, 0]) and np.isnan(back[:, 0]).sum() == 1
    ok = ~np.isnan(sig)
    np.testing.assert_allclose(back[ok], sig[ok], atol=0.5e-3 + 1e-9)


def test_wfdb_range_checked_before_writing(tmp_path: Path) -> None:
    sig = np.zeros((1000, 2))
    sig[500, 1] = 40.0
    with pytest.raises(ValueError, match=r"40\.000 mV do not fit WFDB format 16"):
        write_record(sig, 500, ["I", "II"], ["mV", "mV"], [], tmp_path / "loud")
    with pytest.raises(ValueError, match="may hold only letters"):
        write_record(sig[:, :1] * 0, 500, ["I"], ["mV"], [], tmp_path / "bad name")
    assert list(tmp_path.iterdir()) == []


def test_csv_round_trip(tmp_path: Path, record: wfdb.Record) -> None:
    [path] = _write(record, tmp_path / "out" / "rec_12lead", fmt="csv")
    assert path == tmp_path / "out" / "rec_12lead.csv"
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    # comments first, as numpy skips them
    assert rows[:2] == [["# ecg12 reconstruction"], ["# model: test"]]
    assert rows[2] == ["time_s", *record.sig_name]
    table = np.array(rows[3:], dtype=float)
    np.testing.assert_allclose(np.loadtxt(path, delimiter=",", skiprows=3), table)
    np.testing.assert_allclose(table[:, 0], np.arange(5000) / 500, atol=1e-6)
    np.testing.assert_allclose(table[:, 1:], record.p_signal, atol=5e-5)
    rec = read_recording(path)  # our own output reads back with its rate and comments
    assert (rec.fs, rec.sig_name) == (500.0, record.sig_name)
    assert rec.comments == ["ecg12 reconstruction", "model: test"]


def test_npz_round_trip_with_extra(tmp_path: Path, record: wfdb.Record) -> None:
    spread = np.abs(record.p_signal) * 0.1
    [path] = _write(record, tmp_path / "rec.npz", fmt="npz", extra={"p_std": spread})
    assert path == tmp_path / "rec.npz"
    with np.load(path, allow_pickle=False) as data:
        np.testing.assert_array_equal(data["p_signal"], record.p_signal)
        assert float(data["fs"]) == 500.0
        assert data["sig_name"].tolist() == record.sig_name
        assert data["units"].tolist() == ["mV"] * 12
        assert data["comments"].tolist() == ["ecg12 reconstruction", "model: test"]
        np.testing.assert_allclose(data["p_std"], spread)


def test_refuses_to_overwrite_then_replaces(tmp_path: Path, record: wfdb.Record) -> None:
    _write(record, tmp_path / "rec")
    before = (tmp_path / "rec.dat").read_bytes()
    half = record.p_signal * 0.5
    with pytest.raises(FileExistsError, match=r"rec\.dat exists"):
        write_record(half, 500, record.sig_name, record.units, [], tmp_path / "rec")
    assert (tmp_path / "rec.dat").read_bytes() == before
    write_record(half, 500, record.sig_name, record.units, [], tmp_path / "rec", overwrite=True)
    back = wfdb.rdrecord(str(tmp_path / "rec"))
    np.testing.assert_allclose(back.p_signal, half, atol=0.5e-3 + 1e-9)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.dat", "rec.hea"]


def test_any_existing_target_blocks_all(tmp_path: Path, record: wfdb.Record) -> None:
    (tmp_path / "rec.hea").write_text("someone else's header\n")
    with pytest.raises(FileExistsError, match=r"rec\.hea"):
        _write(record, tmp_path / "rec")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.hea"]


def test_bad_arguments(tmp_path: Path, record: wfdb.Record) -> None:
    with pytest.raises(ValueError, match="unknown output format 'edf'"):
        _write(record, tmp_path / "rec", fmt="edf")
    with pytest.raises(ValueError, match="does not match 11 names"):
        write_record(
            record.p_signal, 500, record.sig_name[:11], record.units[:11], [], tmp_path / "rec"
        )
    with pytest.raises(ValueError, match="only be written to npz"):
        _write(record, tmp_path / "rec", fmt="csv", extra={"x": np.zeros(3)})
    with pytest.raises(ValueError, match="may not be named"):
        _write(record, tmp_path / "rec", fmt="npz", extra={"fs": np.zeros(3)})
    assert list(tmp_path.iterdir()) == []


def _wrsamp(sig: np.ndarray, fs: float, names: list[str], comments: list[str], where: Path) -> Path:
    """The same record written by wfdb itself, the reference for our own format-16 writer."""
    where.mkdir()
    n = sig.shape[1]
    wfdb.wrsamp(
        "rec",
        fs=fs,
        units=["mV"] * n,
        sig_name=names,
        p_signal=sig.copy(),
        fmt=["16"] * n,
        adc_gain=[1000] * n,
        baseline=[0] * n,
        comments=comments,
        write_dir=str(where),
    )
    return where / "rec"


@pytest.mark.parametrize(
    "samples, fs, comments",
    [
        (1, 500.0, []),
        (7, 256.5, ["one, two: three", ""]),
        (5001, 1000 / 3, ["Reconstructed 12-lead ECG, µV résumé"]),
        (4999, 10_000.0, ["a"] * 3),
    ],
)
def test_wfdb_bytes_equal_wrsamp(
    tmp_path: Path, samples: int, fs: float, comments: list[str]
) -> None:
    rng = np.random.default_rng(samples)
    sig = rng.normal(scale=3.0, size=(samples, 12))
    sig[::97, 3] = np.nan  # missing samples, the first row among them
    sig[-1, 5] = 32.767  # the largest value format 16 holds, and its negative
    sig[0, 6] = -32.767
    sig[: samples // 2, 7] = 0.0125  # ties round half to even, as wfdb's adc does: 12
    sig[:, 8] = np.nan  # a lead missing throughout
    names = list(ecg12.LEAD_NAMES)
    ours = write_record(sig, fs, names, ["mV"] * 12, comments, tmp_path / "ours" / "rec")
    theirs = _wrsamp(sig, fs, names, comments, tmp_path / "wfdb")
    for path in ours:
        assert path.read_bytes() == theirs.with_suffix(path.suffix).read_bytes(), path.name
    back = wfdb.rdrecord(str(tmp_path / "ours" / "rec"))
    assert back.sig_len == samples  # (wfdb reads non-ASCII comments back lossily: not ours)
    np.testing.assert_allclose(back.p_signal, sig, atol=0.5e-3 + 1e-9)


def test_wfdb_bytes_equal_wrsamp_for_float32_and_column_major(tmp_path: Path) -> None:
    """What the pipeline hands the writer: float32, possibly column-major (a transposed stitch),
    scaled in float64 as wfdb scales the float64 record."""
    sig = np.random.default_rng(3).normal(scale=2.0, size=(1001, 12)).astype(np.float32)
    sig[::50, 2] = np.nan
    names = list(ecg12.LEAD_NAMES)
    theirs = _wrsamp(sig.astype(np.float64), 500.0, names, ["c"], tmp_path / "wfdb")
    for k, layout in enumerate([sig, np.asfortranarray(sig)]):
        ours = write_record(layout, 500.0, names, ["mV"] * 12, ["c"], tmp_path / f"o{k}" / "rec")
        for path in ours:
            assert path.read_bytes() == theirs.with_suffix(path.suffix).read_bytes(), path.name


def test_wfdb_written_in_blocks_equals_one_piece(tmp_path: Path) -> None:
    sig = np.random.default_rng(1).normal(size=(1001, 2))
    sig[0, 1] = np.nan
    whole = write_record(sig, 250, ["I", "II"], ["mV", "mV"], ["c"], tmp_path / "whole")
    with open_wfdb(tmp_path / "blocks", 250, ["I", "II"], ["mV", "mV"]) as out:
        for start in range(0, 1001, 300):
            out.write(sig[start : start + 300])
        out.comments = ["c"]
    assert [p.name for p in out.targets] == ["blocks.dat", "blocks.hea"]
    assert out.targets[0].read_bytes() == whole[0].read_bytes()
    assert out.targets[1].read_text() == whole[1].read_text().replace("whole", "blocks")


def test_wfdb_failure_midway_leaves_nothing(tmp_path: Path) -> None:
    loud = np.zeros((10, 1))
    loud[4] = -33.0
    with pytest.raises(ValueError, match=r"33\.000 mV do not fit"):
        with open_wfdb(tmp_path / "rec", 500, ["I"], ["mV"]) as out:
            out.write(np.zeros((10, 1)))
            out.write(loud)
    with pytest.raises(ValueError, match="tabs or line breaks"):
        write_record(np.zeros((3, 1)), 500, ["I"], ["mV"], ["two\nlines"], tmp_path / "rec")
    with pytest.raises(ValueError, match="unique"):
        write_record(np.zeros((3, 2)), 500, ["I", "I"], ["mV"] * 2, [], tmp_path / "rec")
    with pytest.raises(ValueError, match="do not fit"):
        write_record(np.full((3, 1), np.inf), 500, ["I"], ["mV"], [], tmp_path / "rec")
    assert list(tmp_path.iterdir()) == []
