"""The bundled example input: reproducible from examples/make_example.py and physiological."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import wfdb
from scipy.signal import find_peaks

from ecg12.dsp import resample
from ecg12.leads import LIMB_BASIS
from ecg12.readers import read_lead, read_recording, select_leads

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FILES = ("lead_i.hea", "lead_i.dat", "lead_i.csv", "apple_health_lead_i.csv")
#: The multi-lead examples: a Holter's two channels and a six-lead device's limb leads.
MULTI_LEAD = ("holter_mlii_v5.hea", "holter_mlii_v5.dat", "six_lead.hea", "six_lead.dat")


@pytest.fixture(scope="module")
def maker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_example", EXAMPLES / "make_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def regenerated(maker: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("examples")
    written = maker.write_examples(out)
    assert sorted(p.name for p in written) == sorted(FILES + MULTI_LEAD)
    return out


@pytest.mark.parametrize("name", FILES + MULTI_LEAD)
def test_committed_files_are_what_the_script_makes(regenerated: Path, name: str) -> None:
    assert (regenerated / name).read_bytes() == (EXAMPLES / name).read_bytes()


def test_examples_stay_small() -> None:
    assert sum((EXAMPLES / name).stat().st_size for name in FILES) < 300_000
    assert sum((EXAMPLES / name).stat().st_size for name in MULTI_LEAD) < 150_000


@pytest.fixture(scope="module")
def lead_i() -> wfdb.Record:
    return wfdb.rdrecord(str(EXAMPLES / "lead_i"))


def test_wfdb_record_says_what_it_is(lead_i: wfdb.Record) -> None:
    assert (lead_i.fs, lead_i.sig_name, lead_i.units, lead_i.fmt) == (500, ["I"], ["mV"], ["16"])
    assert lead_i.sig_len == 30 * 500
    text = " ".join(lead_i.comments)
    assert "synthetic" in text and "ECGSYN" in text and "examples/make_example.py" in text


def test_ecgsyn_is_physiological(maker: ModuleType, lead_i: wfdb.Record) -> None:
    x, fs = lead_i.p_signal[:, 0], lead_i.fs
    peaks, _ = find_peaks(x, height=0.6, distance=int(0.3 * fs))
    rr = np.diff(peaks) / fs
    assert 60 / rr.mean() == pytest.approx(maker.HR_MEAN, abs=2.0)
    assert 0.5 < np.std(60 / rr) < 3 * maker.HR_STD  # the RR intervals vary, but not wildly
    assert len(peaks) == pytest.approx(30 * maker.HR_MEAN / 60, abs=2)
    # R height above the T-P segment just before each P wave (0.40-0.28 s before R).
    before = [np.median(x[p - int(0.40 * fs) : p - int(0.28 * fs)]) for p in peaks[1:]]
    r_height = np.median(x[peaks[1:]] - before)
    assert r_height == pytest.approx(maker.R_MV, abs=0.15)
    # The baseline wanders with respiration (about 0.15 mV) but stays near zero on average.
    assert 0.05 < np.ptp(before) < 0.5 and abs(np.mean(x)) < 0.3
    # Noise: the first difference of the isoelectric stretch is small but not zero.
    assert 0.002 < np.std(np.diff(x[peaks[1] - 200 : peaks[1] - 140])) < 0.05


def test_csv_forms_hold_the_same_signal(lead_i: wfdb.Record) -> None:
    x = lead_i.p_signal[:, 0]
    table = np.loadtxt(EXAMPLES / "lead_i.csv", delimiter=",", skiprows=1)
    assert (EXAMPLES / "lead_i.csv").read_text().splitlines()[0] == "time_s,I"
    assert np.allclose(table[:, 0], np.arange(x.size) / 500, atol=1e-9)
    assert np.allclose(table[:, 1], x, atol=1e-9)

    lines = (EXAMPLES / "apple_health_lead_i.csv").read_text(encoding="utf-8").splitlines()
    header = dict(line.split(",", 1) for line in lines[:13] if line)
    assert header["Sample Rate"] == "512 hertz"
    assert header["Lead"] == "Lead I" and header["Unit"] == "µV"
    assert header["Classification"] == "Sinus Rhythm"
    assert {
        "Name",
        "Date of Birth",
        "Recorded Date",
        "Symptoms",
        "Software Version",
        "Device",
    } <= header.keys()
    microvolts = np.array([float(v) for v in lines[13:]])
    assert microvolts.size == 30 * 512
    back = resample(microvolts, 512, 500) / 1000  # to 500 Hz and mV
    assert np.max(np.abs(back[50:-50] - x[50:-50])) < 0.03


@pytest.mark.parametrize(
    ("name", "fs"),
    [
        ("lead_i.hea", 500.0),
        ("lead_i.csv", 500.0),
        ("apple_health_lead_i.csv", 512.0),
    ],
)
def test_ecg12_reads_every_example(lead_i: wfdb.Record, name: str, fs: float) -> None:
    x, got_fs, _, _ = read_lead(EXAMPLES / name)
    assert got_fs == fs and x.size == 30 * fs
    assert np.max(x) == pytest.approx(np.max(lead_i.p_signal), abs=0.05)  # mV, not uV


def test_holter_example_is_a_mit_bih_like_record(lead_i: wfdb.Record) -> None:
    rec = wfdb.rdrecord(str(EXAMPLES / "holter_mlii_v5"))
    assert (rec.fs, rec.sig_name, rec.fmt, rec.sig_len) == (360, ["MLII", "V5"], ["212"] * 2, 10800)
    assert rec.adc_gain == [200.0, 200.0] and "synthetic" in rec.comments[0]
    peaks = [find_peaks(x, height=0.8 * x.max(), distance=108)[0] for x in rec.p_signal.T]
    assert len(peaks[0]) == len(peaks[1]) == pytest.approx(33, abs=2)  # one rhythm, both leads
    # The same beats as the Lead I example, 360 Hz against 500 Hz.
    beats_i = find_peaks(lead_i.p_signal[:, 0], height=0.6, distance=150)[0] / 500
    assert np.max(np.abs(peaks[0] / 360 - beats_i)) < 0.01
    found = select_leads(read_recording(EXAMPLES / "holter_mlii_v5.hea"))[0]
    assert [(c.lead, c.channel) for c in found] == [("II", "MLII"), ("V5", "V5")]


def test_six_lead_example_is_i_and_ii_with_the_four_derived() -> None:
    rec = wfdb.rdrecord(str(EXAMPLES / "six_lead"))
    assert (rec.fs, rec.sig_name, rec.sig_len) == (
        300,
        ["I", "II", "III", "aVR", "aVL", "aVF"],
        9000,
    )
    np.testing.assert_allclose(rec.p_signal[:, :2] @ LIMB_BASIS.T, rec.p_signal, atol=1.5e-3)
    r_heights = np.percentile(rec.p_signal, 99.5, axis=0)
    assert r_heights[1] > r_heights[0] > 0.8  # a normal axis: II taller than I
    found = select_leads(read_recording(EXAMPLES / "six_lead.hea"))[0]
    assert [c.lead for c in found] == rec.sig_name
