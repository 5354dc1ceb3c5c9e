"""Reading every supported format: real fixtures, and real files written into tmp_path."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import wfdb
from edffile import write_edf
from scipy.signal import resample_poly

from ecg12.errors import InputError
from ecg12.leads import LEAD_NAMES
from ecg12.readers import Recording, read_lead, read_recording, select_lead

NATIVE = "fixtures/ptbxl-native/records500/00000/00001_hr"


@pytest.fixture(scope="module")
def truth(shared_data: Path) -> wfdb.Record:
    """PTB-XL record 1 at 500 Hz as wfdb reads it: the reference values in mV."""
    return wfdb.rdrecord(str(shared_data / NATIVE))


# --- WFDB -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relpath", "record", "fs", "n_sig", "lead_i"),
    [
        (NATIVE + ".hea", NATIVE, 500, 12, "I"),
        (NATIVE, NATIVE, 500, 12, "I"),
        (NATIVE + ".dat", NATIVE, 500, 12, "I"),
        (*["fixtures/ptbxl-native/records100/00000/00001_lr"] * 2, 100, 12, "I"),
        ("fixtures/cinc2021-ptbxl/HR06000.mat", "fixtures/cinc2021-ptbxl/HR06000", 500, 12, "I"),
        ("fixtures/ptb-diagnostic/s0010_re.xyz", "fixtures/ptb-diagnostic/s0010_re", 1000, 15, "i"),
        (*["ptbxl/records500/00000/00001_hr"] * 2, 500, 12, "I"),  # FLAC, format 516
        ("ptbxl/records500/00000/00001_hr_2.dat", "ptbxl/records500/00000/00001_hr", 500, 12, "I"),
    ],
)
def test_wfdb_records_match_wfdb(
    shared_data: Path, relpath: str, record: str, fs: float, n_sig: int, lead_i: str
) -> None:
    rec = read_recording(shared_data / relpath)
    ref = wfdb.rdrecord(str(shared_data / record))
    assert (rec.format, rec.fs, rec.signal.shape[1]) == ("wfdb", fs, n_sig)
    assert rec.units == ["mV"] * n_sig and rec.source == str(shared_data / relpath)
    np.testing.assert_allclose(rec.signal, ref.p_signal, atol=1e-9)
    x, name = select_lead(rec)
    assert name == lead_i
    np.testing.assert_allclose(x, ref.p_signal[:, 0], atol=1e-9)


def test_flac_record_equals_native_format16(shared_data: Path) -> None:
    flac = read_recording(shared_data / "ptbxl/records500/00000/00001_hr")
    native = read_recording(shared_data / NATIVE)
    np.testing.assert_allclose(flac.signal, native.signal, atol=1e-9)


def test_cinc_comments_and_lower_case_units_kept(shared_data: Path) -> None:
    rec = read_recording(shared_data / "fixtures/cinc2021-ptbxl/HR06000.hea")
    assert any(c.startswith("Dx:") for c in rec.comments)
    assert rec.sig_name[3:6] == ["aVR", "aVL", "aVF"] and rec.units[0] == "mV"


@pytest.mark.parametrize(("asked", "expected"), [("avr", "AVR"), ("AVR", "AVR"), ("Lead V1", "V1")])
def test_select_lead_case_insensitive(truth: wfdb.Record, shared_data: Path, asked, expected):
    rec = read_recording(shared_data / NATIVE)
    x, name = select_lead(rec, asked, accept_other_lead=True)
    assert name == expected
    np.testing.assert_allclose(x, truth.p_signal[:, truth.sig_name.index(expected)])


@pytest.mark.parametrize("name", ["I", "i", "Lead I", "ECG_Lead_I", "MLI"])
def test_lead_i_aliases(truth: wfdb.Record, name: str) -> None:
    rec = Recording(
        signal=truth.p_signal[:, [1, 0]],
        fs=500.0,
        sig_name=["II", name],
        units=["mV", "mV"],
        source="memory",
        format="npy",
        comments=[],
    )
    x, got = select_lead(rec)
    assert got == name
    np.testing.assert_array_equal(x, truth.p_signal[:, 0])


def test_read_lead_picks_named_non_standard_channel(shared_data: Path) -> None:
    x, fs, name, rec = read_lead(shared_data / "fixtures/ptb-diagnostic/s0010_re", lead="VX")
    assert (name, fs, x.shape) == ("vx", 1000.0, (38400,))
    assert np.ptp(x) > 0.1


def test_wfdb_microvolts_converted_and_foreign_units_refused(tmp_path: Path, truth) -> None:
    lead_i = truth.p_signal[:, :1]
    wfdb.wrsamp(
        "uv",
        fs=500,
        units=["uV"],
        sig_name=["I"],
        p_signal=lead_i * 1000,
        fmt=["16"],
        adc_gain=[1.0],
        baseline=[0],
        write_dir=str(tmp_path),
    )
    rec = read_recording(tmp_path / "uv.hea")
    assert rec.units == ["mV"]
    np.testing.assert_allclose(rec.signal[:, 0], lead_i[:, 0], atol=1e-3)

    wfdb.wrsamp(
        "bp",
        fs=500,
        units=["mmHg"],
        sig_name=["I"],
        p_signal=lead_i * 50 + 90,
        fmt=["16"],
        adc_gain=[100.0],
        baseline=[0],
        write_dir=str(tmp_path),
    )
    with pytest.raises(InputError, match=r"bp\.hea: channel I is in 'mmHg'"):
        read_lead(tmp_path / "bp.hea")


# --- EDF ------------------------------------------------------------------------------------


def test_edf_written_by_wfdb(tmp_path: Path, shared_data: Path, truth) -> None:
    from wfdb.io.convert.edf import wfdb_to_edf

    out = tmp_path / "rec.edf"
    wfdb_to_edf(str(shared_data / NATIVE), output_filename=str(out))
    rec = read_recording(out)
    assert (rec.format, rec.fs, rec.sig_name) == ("edf", 500.0, truth.sig_name)
    # wfdb pads the last one-second data record; that padding is dropped again
    assert rec.signal.shape == truth.p_signal.shape
    np.testing.assert_allclose(rec.signal, truth.p_signal, atol=1e-6)


def test_edf_plus_with_annotations_and_two_rates(tmp_path: Path, truth) -> None:
    lead_i_uv = truth.p_signal[:, 0] * 1000
    resp = np.sin(np.arange(2500) / 250 * 2 * np.pi * 0.3) * 1000
    out = tmp_path / "holter.edf"
    write_edf(out, [("ECG I", "uV", lead_i_uv, 500), ("Resp", "uV", resp, 250)], annotations=True)
    x, fs, name, rec = read_lead(out)
    assert (rec.format, fs, name, rec.units) == ("edf", 500.0, "ECG I", ["mV"])
    assert "Resp (250 Hz)" in rec.comments[0]
    np.testing.assert_allclose(x, truth.p_signal[:, 0], atol=1e-3)


def test_truncated_and_invalid_edf(tmp_path: Path, truth) -> None:
    out = tmp_path / "cut.edf"
    write_edf(out, [("I", "uV", truth.p_signal[:, 0] * 1000, 500)], annotations=True)
    out.write_bytes(out.read_bytes()[:-2000])
    with pytest.raises(InputError, match=r"cut\.edf: truncated: header promises 10 data records"):
        read_recording(out)
    bad = tmp_path / "bad.edf"
    bad.write_bytes(b"not an edf at all" * 40)
    with pytest.raises(InputError, match=r"bad\.edf: not an EDF file"):
        read_recording(bad)


# --- CSV ------------------------------------------------------------------------------------


def _write_lines(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def test_csv_header_and_time_column(tmp_path: Path, truth) -> None:
    sig = truth.p_signal[:, :2]
    lines = ["time_s,I,II"] + [f"{k / 500:.6f},{a:.4f},{b:.4f}" for k, (a, b) in enumerate(sig)]
    rec = read_recording(_write_lines(tmp_path / "two.csv", lines))
    assert (rec.format, rec.fs, rec.sig_name, rec.units) == ("csv", 500.0, ["I", "II"], ["mV"] * 2)
    np.testing.assert_allclose(rec.signal, sig, atol=1e-4)


def test_csv_single_column_without_header_is_lead_i(tmp_path: Path, truth) -> None:
    path = _write_lines(tmp_path / "one.txt", [f"{v:.4f}" for v in truth.p_signal[:, 0]])
    with pytest.raises(InputError, match=r"one\.txt: sampling rate unknown; pass --fs"):
        read_recording(path)
    x, fs, name, _ = read_lead(path, fs=500)
    assert (fs, name) == (500.0, "I")
    np.testing.assert_allclose(x, truth.p_signal[:, 0], atol=1e-4)


def test_csv_unnamed_time_column_in_seconds(tmp_path: Path, truth) -> None:
    lines = [f"{k / 500 + 12.5:.4f},{v:.4f}" for k, v in enumerate(truth.p_signal[:, 0])]
    x, fs, name, _ = read_lead(_write_lines(tmp_path / "t.csv", lines))
    assert (fs, name) == (500.0, "I")
    np.testing.assert_allclose(x, truth.p_signal[:, 0], atol=1e-4)


def test_csv_semicolons_and_milliseconds(tmp_path: Path, truth) -> None:
    lines = ["ms;Lead I;V1"] + [
        f"{k * 2};{a:.4f};{b:.4f}" for k, (a, b) in enumerate(truth.p_signal[:, [0, 6]])
    ]
    x, fs, name, rec = read_lead(_write_lines(tmp_path / "ms.csv", lines))
    assert (fs, name, rec.sig_name) == (500.0, "Lead I", ["Lead I", "V1"])
    np.testing.assert_allclose(x, truth.p_signal[:, 0], atol=1e-4)


def test_csv_sample_counter_carries_no_rate(tmp_path: Path, truth) -> None:
    lines = ["sample,I"] + [f"{k},{v:.4f}" for k, v in enumerate(truth.p_signal[:, 0])]
    path = _write_lines(tmp_path / "idx.csv", lines)
    with pytest.raises(InputError, match="sampling rate unknown"):
        read_recording(path)
    assert read_recording(path, fs=500).sig_name == ["I"]
    no_header = _write_lines(tmp_path / "idx2.csv", lines[1:])
    assert read_recording(no_header, fs=500).signal.shape == (5000, 1)


def test_csv_rate_conflict_and_bad_rows(tmp_path: Path, truth) -> None:
    lines = ["t,I"] + [f"{k / 500:.6f},{v:.4f}" for k, v in enumerate(truth.p_signal[:200, 0])]
    path = _write_lines(tmp_path / "c.csv", lines)
    with pytest.raises(InputError, match="file says 500 Hz but --fs 250 was given"):
        read_recording(path, fs=250)
    _write_lines(tmp_path / "bad.csv", lines[:3] + ["0.004,abc"] + lines[4:])
    with pytest.raises(InputError, match=r"bad\.csv: line 4: not a number"):
        read_recording(tmp_path / "bad.csv")
    _write_lines(tmp_path / "ragged.csv", lines[:3] + ["0.004"] + lines[4:])
    with pytest.raises(InputError, match="line 4: expected 2 values, found 1"):
        read_recording(tmp_path / "ragged.csv")
    uneven = ["t,I", "0,0.1", "0.002,0.2", "0.010,0.1", "0.012,0.3"]
    with pytest.raises(InputError, match="time column is not evenly spaced"):
        read_recording(_write_lines(tmp_path / "uneven.csv", uneven))


def test_apple_health_csv(tmp_path: Path, truth) -> None:
    """The layout the iPhone Health app exports for an Apple Watch ECG (512 Hz, µV)."""
    lead_uv = resample_poly(truth.p_signal[:, 0], 512, 500) * 1000
    lines = [
        "Name,Jane Appleseed",
        'Date of Birth,"Jan 1, 1970"',
        "Recorded Date,2024-03-01 09:41:00 +0100",
        "Classification,Sinus Rhythm",
        "Symptoms,",
        "Software Version,2",
        'Device,"Watch6,2"',
        "Sample Rate,512 hertz",
        "",
        "Lead,Lead I",
        "Unit,µV",
        "",
        *[f"{v:.3f}" for v in lead_uv],
    ]
    x, fs, name, rec = read_lead(_write_lines(tmp_path / "ecg_2024-03-01.csv", lines))
    assert (rec.format, fs, name, rec.units) == ("apple-health-csv", 512.0, "Lead I", ["mV"])
    np.testing.assert_allclose(x, lead_uv / 1000, atol=1e-5)
    assert "Classification: Sinus Rhythm" in rec.comments
    assert not any("Jane" in c or "1970" in c for c in rec.comments)


# --- NumPy ----------------------------------------------------------------------------------


def test_npy_shapes(tmp_path: Path, truth) -> None:
    np.save(tmp_path / "one.npy", truth.p_signal[:, 0])
    np.save(tmp_path / "twelve.npy", truth.p_signal)
    np.save(tmp_path / "rows.npy", truth.p_signal.T.astype(np.float32))
    x, fs, name, rec = read_lead(tmp_path / "one.npy", fs=500)
    assert (fs, name, rec.format) == (500.0, "I", "npy")
    np.testing.assert_allclose(x, truth.p_signal[:, 0])
    for file in ("twelve.npy", "rows.npy"):
        rec = read_recording(tmp_path / file, fs=500)
        assert rec.sig_name == list(LEAD_NAMES) and rec.signal.shape == (5000, 12)
        v2 = select_lead(rec, "V2", accept_other_lead=True)[0]
        np.testing.assert_allclose(v2, truth.p_signal[:, 7], atol=1e-6)


def test_npy_needs_rate_of_at_least_100_hz(tmp_path: Path, truth) -> None:
    np.save(tmp_path / "x.npy", truth.p_signal[:, 0])
    with pytest.raises(InputError, match=r"x\.npy: sampling rate unknown; pass --fs"):
        read_recording(tmp_path / "x.npy")
    with pytest.raises(InputError, match="50 Hz is below the 100 Hz minimum"):
        read_recording(tmp_path / "x.npy", fs=50)
    with pytest.raises(InputError, match="must be a positive, finite number"):
        read_recording(tmp_path / "x.npy", fs=0)
    np.save(tmp_path / "cube.npy", np.zeros((2, 3, 4)))
    with pytest.raises(InputError, match="expected a 1-D or 2-D numeric array"):
        read_recording(tmp_path / "cube.npy", fs=500)


# --- errors ---------------------------------------------------------------------------------


def test_values_that_cannot_be_mv(tmp_path: Path, truth) -> None:
    np.save(tmp_path / "counts.npy", truth.p_signal[:, 0] * 1000 + 2048)  # ADC counts
    with pytest.raises(InputError, match=r"counts\.npy: channel I does not look like mV"):
        read_lead(tmp_path / "counts.npy", fs=500)
    np.save(tmp_path / "uv.npy", truth.p_signal[:, 0] * 1000)  # µV called mV
    with pytest.raises(InputError, match="raw ADC counts or µV labelled as mV"):
        read_lead(tmp_path / "uv.npy", fs=500)


@pytest.mark.parametrize("seed", range(40))
def test_the_mv_check_refuses_exactly_past_its_limits(seed: int) -> None:
    """Channels scaled to sit near either limit (median |x| 20, p1-p99 50 mV), some with NaN:
    refused exactly where the measured median or range is past its limit."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 3000))
    x = rng.standard_normal(n) * rng.choice([0.5, 5.0, 15.0]) + rng.choice([0.0, 18.0, 25.0])
    x[rng.random(n) < 0.05] = np.nan
    finite = x[np.isfinite(x)]
    p1, p99 = np.percentile(finite, [1, 99])
    past = np.median(np.abs(finite)) > 20.0 or p99 - p1 > 50.0
    rec = Recording(x[:, None], 500.0, ["I"], ["mV"], "near.npy", "npy", [])
    if past:
        with pytest.raises(InputError, match="does not look like mV"):
            select_lead(rec)
    else:
        select_lead(rec)


def test_no_lead_i(tmp_path: Path, truth, shared_data: Path) -> None:
    lines = ["II,V1"] + [f"{a:.4f},{b:.4f}" for a, b in truth.p_signal[:, [1, 6]]]
    with pytest.raises(InputError, match=r"no Lead I \(channels: II, V1\); pass --lead NAME"):
        read_lead(_write_lines(tmp_path / "noi.csv", lines), fs=500)
    with pytest.raises(InputError, match=r"no channel 'V7' \(channels: I, II"):
        read_lead(shared_data / NATIVE, lead="V7")


def test_missing_unknown_and_unreadable_files(tmp_path: Path, shared_data: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.csv: file not found"):
        read_recording(tmp_path / "nope.csv")
    with pytest.raises(InputError, match=r"nope: file not found"):
        read_recording(tmp_path / "nope")
    (tmp_path / "export.xml").write_text("<HealthData/>")
    with pytest.raises(InputError, match=r"unsupported format '\.xml'"):
        read_recording(tmp_path / "export.xml")
    (tmp_path / "lonely.dat").write_bytes(bytes(2000))
    with pytest.raises(InputError, match=r"lonely\.dat: no WFDB header \(\.hea\) found"):
        read_recording(tmp_path / "lonely.dat")
    (tmp_path / "junk.hea").write_text("this is not a header\n")
    with pytest.raises(InputError, match=r"junk\.hea: WFDB header sampling rate 'not' is not a"):
        read_recording(tmp_path / "junk.hea")
    (tmp_path / "junk2.hea").write_text("junk2 1 500 10 \njunk2.dat 16 1000/mV\n")
    with pytest.raises(InputError, match=r"junk2\.hea: signal file junk2\.dat is missing$"):
        read_recording(tmp_path / "junk2.hea")
    (tmp_path / "empty.csv").write_text("\n\n")
    with pytest.raises(InputError, match=r"empty\.csv: empty file"):
        read_recording(tmp_path / "empty.csv")


@pytest.mark.parametrize("keep_bytes", [50_000, 24_000])
def test_truncated_dat(tmp_path: Path, shared_data: Path, keep_bytes: int) -> None:
    for src in (shared_data / NATIVE).parent.glob("00001_hr.*"):
        shutil.copy(src, tmp_path / src.name)
    dat = tmp_path / "00001_hr.dat"
    dat.write_bytes(dat.read_bytes()[:keep_bytes])
    with pytest.raises(InputError, match=r"00001_hr\.hea: signal file 00001_hr\.dat does") as info:
        read_recording(tmp_path / "00001_hr.hea")
    assert "\n" not in str(info.value)


def test_truncated_flac(tmp_path: Path, shared_data: Path) -> None:
    for src in (shared_data / "ptbxl/records500/00000").glob("00001_hr*"):
        shutil.copy(src, tmp_path / src.name)
    flac = tmp_path / "00001_hr_1.dat"
    flac.write_bytes(flac.read_bytes()[:3000])
    with pytest.raises(
        InputError, match=r"00001_hr: signal files 00001_hr_1\.dat, 00001_hr_2\.dat do not hold"
    ):
        read_recording(tmp_path / "00001_hr")


@pytest.mark.parametrize(
    ("fmt", "damage"),
    [
        ("16", lambda data: data[: len(data) // 2]),  # wfdb: "Samples were not loaded correctly"
        ("516", lambda data: data[: len(data) // 2]),  # libsndfile: "Internal psf_fseek() failed"
        ("516", lambda data: bytes(len(data))),  # wfdb: "... is not a FLAC file", its full path
    ],
)
def test_damaged_signal_files_are_named_in_our_words(tmp_path: Path, fmt: str, damage) -> None:
    signal = np.sin(np.arange(5000) / 50)[:, None]
    options = {"fmt": [fmt], "adc_gain": [1000], "baseline": [0], "write_dir": str(tmp_path)}
    wfdb.wrsamp("rec", fs=500, units=["mV"], sig_name=["I"], p_signal=signal, **options)
    dat = tmp_path / "rec.dat"
    dat.write_bytes(damage(dat.read_bytes()))
    with pytest.raises(InputError) as info:
        read_recording(tmp_path / "rec.hea")
    assert str(info.value) == (
        f"{tmp_path / 'rec.hea'}: signal file rec.dat does not hold what the header describes "
        f"(format {fmt}, 5000 samples): damaged or truncated"
    )
    dat.unlink()
    with pytest.raises(InputError, match=r"rec\.hea: signal file rec\.dat is missing$"):
        read_recording(tmp_path / "rec.hea")


def test_a_field_over_the_csv_module_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text('time_s,I\n0,1\n0.002,"' + "x" * 200_000 + '"\n0.004,4\n')
    with pytest.raises(InputError) as info:
        read_recording(path)
    assert str(info.value).startswith(f"{path}: line 3: cannot be split into values: '0.002,\"xxx")
    assert str(info.value).endswith("...'")
