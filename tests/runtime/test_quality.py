"""Quality checks on a real Lead I, clean and with real-world faults added."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb

from ecg12.errors import InputError
from ecg12.quality import NOISE_RATIO_WARN, check_lead

FS = 500.0


@pytest.fixture(scope="module")
def lead_i(shared_data: Path) -> np.ndarray:
    """Lead I of PTB-XL record 1 (500 Hz, 10 s, mV)."""
    rec = wfdb.rdrecord(str(shared_data / "fixtures/ptbxl-native/records500/00000/00001_hr"))
    return rec.p_signal[:, 0]


def test_clean_record_passes_without_warnings(lead_i: np.ndarray) -> None:
    report = check_lead(lead_i, FS, "rec", min_samples=2500)
    assert report.warnings == []
    assert 0.3 < report.amplitude_mv < 5
    assert report.noise_ratio < NOISE_RATIO_WARN
    assert report.nan_fraction == 0 and report.clipped_fraction == 0
    np.testing.assert_array_equal(report.signal, lead_i)


def test_clean_100hz_record(shared_data: Path) -> None:
    rec = wfdb.rdrecord(str(shared_data / "fixtures/ptbxl-native/records100/00000/00002_lr"))
    report = check_lead(rec.p_signal[:, 0], 100.0, "lr", min_samples=500)
    assert report.warnings == [] and 0 < report.noise_ratio < NOISE_RATIO_WARN


def test_all_nan(lead_i: np.ndarray) -> None:
    with pytest.raises(InputError, match=r"^rec: no valid samples \(all NaN\)$"):
        check_lead(np.full_like(lead_i, np.nan), FS, "rec", min_samples=100)


def test_flat(lead_i: np.ndarray) -> None:
    flat = np.full_like(lead_i, 0.25) + 0.001 * np.sin(np.arange(lead_i.size))
    with pytest.raises(InputError, match=r"rec: flat signal"):
        check_lead(flat, FS, "rec", min_samples=100)


def test_too_short(lead_i: np.ndarray) -> None:
    with pytest.raises(InputError, match=r"^rec: too short: 10\.00 s, need at least 20\.48 s$"):
        check_lead(lead_i, FS, "rec", min_samples=10240)


def test_short_gaps_repaired_with_warning(lead_i: np.ndarray) -> None:
    x = lead_i.copy()
    x[1000:1100] = np.nan  # 0.2 s
    x[[3000, 3001, 4999]] = np.nan
    report = check_lead(x, FS, "rec", min_samples=100)
    assert np.isfinite(report.signal).all()
    assert report.nan_fraction == pytest.approx(103 / x.size)
    assert any("repaired 103 missing samples in 3 gap(s)" in w for w in report.warnings)
    # interpolation is bounded by the values either side of each gap
    lo, hi = sorted((lead_i[999], lead_i[1100]))
    bridged = report.signal[1000:1100]
    assert lo - 1e-9 <= bridged.min() <= bridged.max() <= hi + 1e-9
    assert np.abs(report.signal[[3000, 3001]] - lead_i[[3000, 3001]]).max() < 0.05
    assert report.signal[4999] == lead_i[4998]


def test_long_gap_refused(lead_i: np.ndarray) -> None:
    x = lead_i.copy()
    x[2000:2300] = np.nan  # 0.6 s
    with pytest.raises(InputError, match=r"rec: 0\.60 s of missing samples at 4\.00 s"):
        check_lead(x, FS, "rec", min_samples=100)


def test_clipping_warned(lead_i: np.ndarray) -> None:
    ceiling = 0.6 * lead_i.max()
    report = check_lead(np.minimum(lead_i, ceiling), FS, "rec", min_samples=100)
    assert report.clipped_fraction > 0.005
    assert any("clipped" in w for w in report.warnings)


def test_one_flat_stretch_is_not_clipping(lead_i: np.ndarray) -> None:
    """PTB-XL records sometimes hold their last 0.1 s constant; that is not clipping."""
    x = lead_i.copy()
    x[-56:] = lead_i.min() - 0.01
    report = check_lead(x, FS, "rec", min_samples=100)
    assert report.clipped_fraction == 0 and report.warnings == []


def test_noise_warned(lead_i: np.ndarray) -> None:
    t = np.arange(lead_i.size) / FS
    mains = lead_i + 0.3 * np.sin(2 * np.pi * 50 * t)
    report = check_lead(mains, FS, "rec", min_samples=100)
    assert report.noise_ratio > NOISE_RATIO_WARN
    assert any("high-frequency noise" in w for w in report.warnings)


def test_low_amplitude_warned(lead_i: np.ndarray) -> None:
    report = check_lead(lead_i * 0.1, FS, "rec", min_samples=100)
    assert report.amplitude_mv < 0.2
    assert any("very low amplitude" in w for w in report.warnings)


@pytest.mark.parametrize("n, fs", [(5000, 500.0), (2500, 250.0), (3001, 360.0), (300, 300.0)])
def test_welch_power_is_scipys_up_to_a_constant(n: int, fs: float) -> None:
    """Band ratios come from a spectrum proportional to scipy's Welch estimate bin for bin."""
    from scipy import signal

    from ecg12.dsp import welch_power

    x = np.random.default_rng(n).normal(size=n).cumsum() + np.sin(np.arange(n) / 3)
    f, want = signal.welch(x, fs=fs, nperseg=min(n, int(2 * fs)))
    g, got = welch_power(x, fs)
    np.testing.assert_array_equal(g, f)
    ratio = got / want
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-12)
