"""Long recordings block by block: the same samples, warnings and trust as the whole-record path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb
from test_pipeline import lead_i

import ecg12
from ecg12.sources import LeadSource, ReadOptions, open_lead
from ecg12.stream import Stream


def holter(seconds: float, fs: float, seed: int = 0) -> np.ndarray:
    """Beats with baseline wander, mains hum and a short gap: every filter and repair has work."""
    t = np.arange(int(seconds * fs)) / fs
    x = (
        lead_i(seconds, fs, seed)
        + 0.4 * np.sin(2 * np.pi * 0.15 * t)
        + 0.05 * np.sin(120 * np.pi * t)
    )
    x[int(61.3 * fs) : int(61.5 * fs)] = np.nan
    return x


def write_wfdb(x: np.ndarray, fs: float, folder: Path) -> Path:
    folder.mkdir()
    wfdb.wrsamp(
        "long",
        fs=fs,
        units=["mV"],
        sig_name=["I"],
        p_signal=x[:, None],
        fmt=["16"],
        write_dir=str(folder),
    )
    return folder / "long.hea"


def test_ten_minutes_in_blocks_equal_the_whole_record(calibrated: Path, tmp_path: Path) -> None:
    path = write_wfdb(holter(600.0, 500.0), 500.0, tmp_path / "in")
    model = ecg12.load()
    whole = model.reconstruct(path)
    stream = Stream(model, _lead(path), 500.0, block_s=60.0)  # ten blocks: every cut shows
    blocks = list(stream)
    assert len(blocks) == 10 and stream.sig_len == whole.p_signal.shape[0]
    np.testing.assert_allclose(np.concatenate(blocks), whole.p_signal, rtol=1e-5, atol=1e-6)
    got = stream.result
    assert got.warnings == whole.warnings and "repaired" in " ".join(got.warnings)
    np.testing.assert_allclose(got.expected_error_mv, whole.expected_error_mv, rtol=1e-6)
    assert got.grades == whole.grades and got.comments == whole.comments
    written = model.stream(path).write(tmp_path / "out")
    back = wfdb.rdrecord(str(written[1].with_suffix("")))
    assert back.comments == whole.comments and back.sig_len == whole.p_signal.shape[0]
    np.testing.assert_allclose(back.p_signal, whole.p_signal, atol=0.5e-3 + 1e-6)


def test_shipped_model_at_an_awkward_rate_with_notch(tmp_path: Path) -> None:
    """EKGAN's output depends on where each window starts: a shifted window grid would show."""
    x = holter(100.0, 360.0, seed=3)
    np.save(tmp_path / "long.npy", x)
    # On the CPU: on a GPU each batch shape may take other kernels, differing by ~1e-3 mV.
    model = ecg12.load("ekgan", device="cpu")
    options = {"fs": 360.0, "out_fs": 300.0, "notch_hz": 60.0}
    whole = model.reconstruct(tmp_path / "long.npy", **options)
    stream = Stream(model, _lead(tmp_path / "long.npy", 360.0), 300.0, 60.0, block_s=20.0)
    np.testing.assert_allclose(np.concatenate(list(stream)), whole.p_signal, atol=2e-5)
    np.testing.assert_allclose(stream.result.window_spread_mv, whole.window_spread_mv, rtol=1e-4)


def test_long_records_are_checked_per_segment(calibrated: Path, tmp_path: Path) -> None:
    x = holter(240.0, 250.0)
    x[int(200 * 250) :] *= 10  # the last minutes look mis-scaled; only their segment says so
    model = ecg12.load()
    stream = Stream(model, _lead(x, 250.0), 500.0, segment_s=120.0)
    blocks = list(stream)
    assert sum(len(b) for b in blocks) == 120_000
    warned = [w for w in stream.result.warnings if "unusually large" in w]
    assert len(warned) == 1 and warned[0].startswith("<array> [00:02:00-00:04:00]: ")
    assert stream.result.expected_error_mv is not None and len(stream.result.grades) == 12


def test_bad_long_input_names_its_place_and_writes_nothing(
    tiny_model: Path, tmp_path: Path
) -> None:
    x = holter(240.0, 250.0)
    x[int(150 * 250) : int(152 * 250)] = np.nan  # 2 s missing: too long to repair
    stream = Stream(ecg12.load(), _lead(x, 250.0), 500.0, segment_s=120.0)
    with pytest.raises(
        ecg12.InputError, match=r"<array> \[00:02:00-00:04:00\]: 2\.00 s of missing samples"
    ):
        stream.write(tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def _lead(x: np.ndarray | Path, fs: float | None = None) -> LeadSource:
    return open_lead(x, ReadOptions(fs=fs))
