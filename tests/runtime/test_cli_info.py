"""``ecg12 info`` on real records and on files a user might get wrong."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import wfdb
from click.testing import CliRunner

from ecg12.cli.info import command

NATIVE = "fixtures/ptbxl-native/records500/00000/00001_hr"


@pytest.fixture(scope="module")
def lead_i(shared_data: Path) -> np.ndarray:
    return wfdb.rdrecord(str(shared_data / NATIVE)).p_signal[:, 0]


def _invoke(*args: str | Path):
    return CliRunner().invoke(command, [str(a) for a in args])


def test_info_on_ptbxl_record(shared_data: Path) -> None:
    """A 12-lead record offers every lead to the any-lead model; with the Lead I model named,
    the report is Lead I's."""
    result = _invoke(shared_data / NATIVE)
    assert result.exit_code == 0, result.output
    assert "ekgan-any" in result.stdout and "standard leads" in result.stdout
    result = _invoke(shared_data / NATIVE, "--model", "ekgan")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for expected in (
        "wfdb",
        "500 Hz",
        "10.00 s (5000 samples)",
        "12: I [mV], II [mV]",
        "amplitude (p1-p99)",
        "noise ratio",
        "no quality warnings",
    ):
        assert expected in out
    assert result.stderr == ""


def test_info_picks_lower_case_lead_i_and_other_leads(shared_data: Path) -> None:
    """The Lead I model's choice of channel (the any-lead model's is in test_anylead.py)."""
    result = _invoke(shared_data / "fixtures/ptb-diagnostic/s0010_re", "--model", "ekgan")
    assert result.exit_code == 0 and "1000 Hz" in result.stdout
    assert re.search(r"channel\W+i\W", result.stdout)
    result = _invoke(shared_data / NATIVE, "--lead", "v1", "--model", "ekgan")
    assert result.exit_code == 0 and re.search(r"channel\W+V1\W", result.stdout)


def test_info_needs_fs_for_bare_csv(tmp_path: Path, lead_i: np.ndarray) -> None:
    path = tmp_path / "lead.csv"
    np.savetxt(path, lead_i, fmt="%.4f")
    result = _invoke(path)
    assert result.exit_code == 1
    assert result.stderr == f"error: {path}: sampling rate unknown; pass --fs\n"
    result = _invoke(path, "--fs", "500")
    assert result.exit_code == 0 and "csv" in result.stdout and "500 Hz" in result.stdout


def test_info_shows_warnings(tmp_path: Path, lead_i: np.ndarray) -> None:
    x = lead_i.copy()
    x[100:120] = np.nan
    np.save(tmp_path / "gappy.npy", x)
    result = _invoke(tmp_path / "gappy.npy", "--fs", "500")
    assert result.exit_code == 0
    assert "warning:" in result.stdout and "repaired 20 missing samples" in result.stdout


@pytest.mark.parametrize(
    ("signal", "args", "message"),
    [
        (np.zeros((5000, 2)), ["--fs", "500"], "no Lead I (channels: ch1, ch2); pass --lead NAME"),
        (np.zeros(5000), ["--fs", "500"], "flat signal"),
        (np.zeros(5000), ["--fs", "50"], "50 Hz is below the 100 Hz minimum"),
    ],
)
def test_info_errors_are_one_line(tmp_path: Path, signal, args, message) -> None:
    np.save(tmp_path / "x.npy", signal)
    result = _invoke(tmp_path / "x.npy", *args)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr


def test_info_missing_file(tmp_path: Path) -> None:
    result = _invoke(tmp_path / "none.edf")
    assert result.exit_code == 1 and "file not found" in result.stderr
