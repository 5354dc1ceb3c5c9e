"""Warnings for inputs unlike the training data, each triggered by a real file made for it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb

import ecg12

# PTB-XL fold-9 records (../shared/data/ptbxl): 498 is paced (scp PACE), 866 is in atrial
# fibrillation (scp AFIB), 1 is sinus rhythm.
PACED, AFIB = "00000/00498_hr", "00000/00866_hr"


def lead_i(shared_data: Path, record: str) -> np.ndarray:
    return wfdb.rdrecord(str(shared_data / "ptbxl/records500" / record), channels=[0]).p_signal


def write(tmp_path: Path, name: str, x: np.ndarray, fs: float = 500.0) -> Path:
    """A real WFDB file (format 16, µV resolution) holding Lead I ``x`` in mV."""
    wfdb.wrsamp(
        name,
        fs=fs,
        units=["mV"],
        sig_name=["I"],
        p_signal=x.reshape(-1, 1),
        fmt=["16"],
        adc_gain=[1000.0],
        baseline=[0],
        write_dir=str(tmp_path),
    )
    return tmp_path / f"{name}.hea"


def warnings_for(path: Path) -> list[str]:
    return ecg12.reconstruct(path).warnings


@pytest.fixture
def normal(shared_data: Path) -> np.ndarray:
    return lead_i(shared_data, "00000/00001_hr")[:, 0]


def test_a_normal_record_has_no_warning(tiny_model: Path, normal, tmp_path: Path) -> None:
    assert warnings_for(write(tmp_path, "normal", normal)) == []


def test_paced(tiny_model: Path, shared_data: Path, tmp_path: Path) -> None:
    (w,) = warnings_for(write(tmp_path, "paced", lead_i(shared_data, PACED)[:, 0]))
    assert "paced.hea" in w and "pacing" in w


def test_non_sinus(tiny_model: Path, shared_data: Path, tmp_path: Path) -> None:
    found = warnings_for(write(tmp_path, "afib", lead_i(shared_data, AFIB)[:, 0]))
    assert any("irregular rhythm" in w and "afib.hea" in w for w in found)


def test_very_low_amplitude(tiny_model: Path, normal, tmp_path: Path) -> None:
    found = warnings_for(write(tmp_path, "small", normal * 0.1))
    assert any("very low amplitude" in w for w in found)


def test_scale_looks_wrong(tiny_model: Path, normal, tmp_path: Path) -> None:
    found = warnings_for(write(tmp_path, "large", normal * 10))  # a gain set 10x too high
    assert any("scale looks wrong" in w for w in found)


def test_very_noisy(tiny_model: Path, normal, tmp_path: Path) -> None:
    noisy = normal + 0.15 * np.random.default_rng(0).normal(size=normal.size)
    found = warnings_for(write(tmp_path, "noisy", noisy))
    assert any("high-frequency noise" in w for w in found)


def test_rate_outside_the_training_range(tiny_model: Path, normal, tmp_path: Path) -> None:
    # The same samples declared at half their rate: every interval doubles, the rate halves.
    found = warnings_for(write(tmp_path, "slow", normal, fs=250.0))
    assert any("heart rate" in w and "outside" in w for w in found)
