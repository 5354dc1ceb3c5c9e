"""Issue 13: files as devices write them, lead honesty, arrays checked as files, hostile input.

Every file here is written by the test in its real format (EDF bytes, WFDB headers with CRLF,
text as exported) from the project's own synthetic Lead I (examples/lead_i), so the tests need
no data from outside the repository.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
import wfdb
from click.testing import CliRunner
from edffile import write_edf

import ecg12
from ecg12.cli import main
from ecg12.dsp import resample
from ecg12.errors import InputError
from ecg12.readers import from_array, read_lead, read_recording

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def lead_i() -> np.ndarray:
    """30 s of synthetic Lead I in mV at 500 Hz."""
    return wfdb.rdrecord(str(EXAMPLES / "lead_i")).p_signal[:, 0]


def at(x: np.ndarray, fs: float) -> np.ndarray:
    return resample(x, 500.0, fs)


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(result, *needles: str) -> None:
    """Exit 1, one ``error:`` line naming what went wrong, no traceback."""
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for needle in needles:
        assert needle in errors[0], errors[0]


# --- EDF ------------------------------------------------------------------------------------


@pytest.fixture
def holter(tmp_path: Path, lead_i: np.ndarray) -> Path:
    """A Cortrium-like patch: 3 ECG channels at 256 Hz (µV) and 5 channels at 21.3 Hz."""
    ecg = at(lead_i, 256.0) * 1000
    n_records = ecg.size // 768  # 3 s data records: 768 ECG samples, 64 auxiliary samples
    aux = np.arange(n_records * 64) % 50
    signals = [(f"ECG{k}", "uV", ecg * (1.2 - 0.2 * k), 768) for k in (1, 2, 3)]
    signals += [(name, "g", aux, 64) for name in ("Accel X", "Accel Y", "Accel Z", "Resp", "T")]
    return write_edf(tmp_path / "patch.edf", signals, 3.0)


def test_multi_rate_edf_keeps_the_chosen_channel_and_its_rate(
    holter: Path, lead_i: np.ndarray
) -> None:
    x, fs, name, rec = read_lead(holter, lead="ECG1")
    assert (fs, name, rec.sig_name) == (256.0, "ECG1", ["ECG1", "ECG2", "ECG3"])
    assert "Accel X (21.3333 Hz)" in rec.comments[-1]
    np.testing.assert_allclose(x[:5000], at(lead_i, 256.0)[:5000], atol=1e-3)
    assert read_recording(holter, fs=256).fs == 256.0  # --fs agrees with the ECG channels
    with pytest.raises(InputError, match=r"patch\.edf: no Lead I \(channels: ECG1, ECG2, ECG3\)"):
        read_lead(holter)
    # An auxiliary channel asked for by name comes with its own (too low) rate.
    with pytest.raises(InputError, match="21.3333 Hz is below the 100 Hz minimum"):
        read_lead(holter, lead="Accel X")


def test_cli_holter_channel_is_taken_as_lead_i_and_says_so(
    tiny_model: Path, holter: Path, tmp_path: Path
) -> None:
    result = run("reconstruct", holter, "-o", tmp_path / "o", "--lead", "ECG1")
    assert result.exit_code == 0, result.output
    assert "channel ECG1 carries no lead name; taken as Lead I" in result.output
    back = wfdb.rdheader(str(tmp_path / "o" / "patch_12lead"))
    assert any("taken as Lead I" in c for c in back.comments)
    assert "lead ECG1, 256 Hz, edf" in " ".join(back.comments)


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"duration_field": "1e-320"}, "invalid EDF header (record duration"),
        ({"duration_field": "abc"}, "data record duration is 'abc', not a number"),
        ({"header_bytes": 512}, "declares 512 header bytes, but 2 signals need 768"),
    ],
)
def test_hostile_edf_headers(
    tmp_path: Path, lead_i: np.ndarray, kwargs: dict, problem: str
) -> None:
    signals = [("I", "uV", lead_i * 1000, 500), ("II", "uV", lead_i * 1000, 500)]
    path = write_edf(tmp_path / "bad.edf", signals, 1.0, **kwargs)
    with pytest.raises(InputError, match=r"bad\.edf: ") as info:
        read_recording(path)
    assert problem in str(info.value) and "\n" not in str(info.value)
    one_line_error(run("info", path), "bad.edf", problem)


# --- WFDB -----------------------------------------------------------------------------------


def write_kardia(folder: Path, x_mv: np.ndarray, record_line: str) -> Path:
    """A PhysioNet/CinC 2017 record: MATLAB v4 .mat (24-byte header) and a CRLF header."""
    counts = np.round(x_mv * 1000).astype("<i2")
    mat_header = np.array([30, 1, counts.size, 0, 4], "<i4").tobytes() + b"val\x00"
    (folder / "A00001.mat").write_bytes(mat_header + counts.tobytes())
    signal_line = f"A00001.mat 16+24 1000/mV 16 0 {counts[0]} 0 0 ECG"
    (folder / "A00001.hea").write_bytes(f"{record_line}\r\n{signal_line}\r\n".encode())
    return folder / "A00001.hea"


def test_kardiamobile_record_with_an_iso_date(tmp_path: Path, lead_i: np.ndarray) -> None:
    x = at(lead_i, 300.0)
    header = write_kardia(tmp_path, x, f"A00001 1 300 {x.size} 2017-03-14 14:13:52")
    with pytest.raises(ValueError, match="unconverted data remains"):
        wfdb.rdrecord(str(tmp_path / "A00001"))  # what wfdb does with it
    rec = read_recording(header)
    assert (rec.fs, rec.sig_name, rec.format) == (300.0, ["ECG"], "wfdb")
    assert "start: 2017-03-14 14:13:52" in rec.comments
    np.testing.assert_allclose(rec.signal[:, 0], x, atol=1e-3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["A00001.hea", "A00001.mat"]


@pytest.mark.parametrize(
    ("rate", "problem"),
    [
        ("-5", "WFDB header sampling rate '-5' is not a positive number"),
        ("nan", "WFDB header sampling rate 'nan' is not a positive number"),
        ("abc", "WFDB header sampling rate 'abc' is not a positive number"),
        ("1e9", "sampling rate 1e+09 Hz is above the 100000 Hz maximum"),
    ],
)
def test_wfdb_header_rates_wfdb_misreads(
    tmp_path: Path, lead_i: np.ndarray, rate: str, problem: str
) -> None:
    header = write_kardia(tmp_path, lead_i[:3000], f"A00001 1 {rate} 3000")
    with pytest.raises(InputError, match="A00001.hea: ") as info:
        read_recording(header)
    assert problem in str(info.value)


def test_multi_frequency_record_is_read_at_the_channel_rate(
    tmp_path: Path, lead_i: np.ndarray
) -> None:
    """MIMIC-style: Lead I at 2 samples per frame (500 Hz) beside a signal at the frame rate."""
    counts = np.round(lead_i[:10000] * 1000).astype("<i2")
    frames = np.column_stack([counts[0::2], counts[1::2], np.arange(5000) % 100]).astype("<i2")
    (tmp_path / "mf.dat").write_bytes(frames.tobytes())
    (tmp_path / "mf.hea").write_text(
        "mf 2 250 5000\nmf.dat 16x2 1000/mV 16 0 0 0 0 I\nmf.dat 16 100/% 16 0 0 0 0 SpO2\n"
    )
    x, fs, name, rec = read_lead(tmp_path / "mf.hea")
    assert (fs, name, x.size) == (500.0, "I", 10000)
    assert rec.comments == ["ignored signals at other rates: SpO2 (250 Hz)"]
    np.testing.assert_allclose(x, lead_i[:10000], atol=1e-3)


# --- text -----------------------------------------------------------------------------------


def write_text(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_biosppy_text_with_comment_header(tmp_path: Path, lead_i: np.ndarray) -> None:
    x = at(lead_i, 1000.0)
    path = write_text(
        tmp_path / "biosppy.txt",
        [
            "# Simple Text Format",
            "# Sampling Rate (Hz):= 1000.00",
            "# Resolution:= 12",
            "# Labels:= ECG",
            *[f"{v:.6f}" for v in x],
        ],
    )
    x_read, fs, name, rec = read_lead(path)
    assert (fs, name, rec.format) == (1000.0, "I", "csv")
    assert "Resolution:= 12" in rec.comments
    np.testing.assert_allclose(x_read, x, atol=1e-6)


def test_polar_export_time_column_not_first(tmp_path: Path, lead_i: np.ndarray) -> None:
    """Polar Sensor Logger: a phone timestamp (text), ns and ms clocks, then µV."""
    x = at(lead_i, 130.0)
    t_ns = 599706655624775323 // 1000 * 1000 + np.arange(x.size) * 7692308
    lines = ["Phone timestamp;sensor timestamp [ns];timestamp [ms];ecg [uV]"] + [
        f"2024-03-01T09:41:{k // 130 % 60:02d}.{k % 130:03d};{t};{k / 130 * 1000:.1f};{v:.0f}"
        for k, (t, v) in enumerate(zip(t_ns, x * 1000, strict=True))
    ]
    x_read, fs, name, rec = read_lead(write_text(tmp_path / "polar.txt", lines), lead="ecg")
    assert (fs, name, rec.units) == (130.0, "ecg", ["mV"])
    assert "ignored columns: Phone timestamp" in rec.comments
    np.testing.assert_allclose(x_read, x, atol=1e-3)


def test_header_lines_decimal_commas_and_a_rate_line(tmp_path: Path, lead_i: np.ndarray) -> None:
    lines = ["Device: KE.Net", "Sampling Rate (Hz): 500", "fs=500", "", "I;II"] + [
        f"{v:.4f};{-v:.4f}".replace(".", ",") for v in lead_i
    ]
    x, fs, name, rec = read_lead(write_text(tmp_path / "semi.csv", lines))
    assert (fs, name, rec.sig_name) == (500.0, "I", ["I", "II"])
    np.testing.assert_allclose(x, lead_i, atol=1e-4)
    assert "Device: KE.Net" in rec.comments
    with pytest.raises(InputError, match="file says 500 Hz but --fs 250 was given"):
        read_recording(tmp_path / "semi.csv", fs=250)


def test_time_column_anywhere_and_a_rising_lead_is_not_time(tmp_path: Path) -> None:
    ramp = np.linspace(-1, 1, 2000)
    lines = ["I,time (ms)"] + [f"{v:.5f},{k * 4}" for k, v in enumerate(ramp)]
    rec = read_recording(write_text(tmp_path / "t.csv", lines))
    assert (rec.fs, rec.sig_name) == (250.0, ["I"])
    lines = ["I,II"] + [f"{v:.5f},{-v:.5f}" for v in ramp]  # I rises strictly: still a lead
    rec = read_recording(write_text(tmp_path / "i.csv", lines), fs=250)
    assert rec.sig_name == ["I", "II"]
    lines = ["# sampling rate: 500", "time_s,I"] + [
        f"{k / 250:.4f},{v:.5f}" for k, v in enumerate(ramp)
    ]
    with pytest.raises(InputError, match="header says 500 Hz but the time column gives 250 Hz"):
        read_recording(write_text(tmp_path / "both.csv", lines))


@pytest.mark.parametrize("rate", ["inf hertz", "1e400 hertz", "nan hertz", "fast"])
def test_apple_export_with_a_hostile_rate(tiny_model: Path, tmp_path: Path, rate: str) -> None:
    text = (EXAMPLES / "apple_health_lead_i.csv").read_text(encoding="utf-8")
    path = tmp_path / "apple.csv"
    path.write_text(text.replace("Sample Rate,512 hertz", f"Sample Rate,{rate}"), "utf-8")
    with pytest.raises(InputError, match=r"apple\.csv: .*(sampling rate|not a number)"):
        read_recording(path)
    for command in (("info", path), ("reconstruct", path, "-o", tmp_path / "o")):
        one_line_error(run(*command), "apple.csv")
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


# --- units and gain -------------------------------------------------------------------------


def test_units_and_gain_state_the_scale(tiny_model: Path, tmp_path: Path, lead_i) -> None:
    np.save(tmp_path / "uv.npy", lead_i * 1000)
    np.save(tmp_path / "counts.npy", np.round(lead_i * 200) + 2048)
    for name in ("uv.npy", "counts.npy"):
        with pytest.raises(InputError, match="does not look like mV.*--units or --gain"):
            read_lead(tmp_path / name, fs=500)
    x, *_ = read_lead(tmp_path / "uv.npy", fs=500, units="uV")
    np.testing.assert_allclose(x, lead_i, atol=1e-9)
    x, *_ = read_lead(tmp_path / "counts.npy", fs=500, gain=200)
    np.testing.assert_allclose(x - np.median(x), lead_i - np.median(lead_i), atol=0.01)
    with pytest.raises(InputError, match="give units or gain, not both"):
        read_lead(tmp_path / "uv.npy", fs=500, units="uV", gain=200)
    with pytest.raises(InputError, match="units must be mV, uV or V"):
        read_lead(tmp_path / "uv.npy", fs=500, units="mmHg")
    # A header that says mV over µV values is corrected, and the record says so.
    wfdb.wrsamp(
        "mislabelled",
        fs=500,
        units=["mV"],
        sig_name=["I"],
        p_signal=lead_i[:, None] * 1000,
        fmt=["32"],
        adc_gain=[1.0],
        baseline=[0],
        write_dir=str(tmp_path),
    )
    rec = read_recording(tmp_path / "mislabelled.hea", units="uV")
    assert rec.comments == ["channel I: file says mV, read as uV"]
    out = tmp_path / "o"
    assert run("reconstruct", tmp_path / "uv.npy", "-o", out, "--fs", "500").exit_code == 1
    result = run("reconstruct", tmp_path / "uv.npy", "-o", out, "--fs", "500", "--units", "uV")
    assert result.exit_code == 0, result.output


# --- lead honesty ---------------------------------------------------------------------------


@pytest.fixture
def mitbih(tmp_path: Path, lead_i: np.ndarray) -> Path:
    """A MIT-BIH-like record: MLII and V5 at 360 Hz, no Lead I."""
    x = at(lead_i, 360.0)[:, None]
    wfdb.wrsamp(
        "100",
        fs=360,
        units=["mV", "mV"],
        sig_name=["MLII", "V5"],
        p_signal=np.hstack([x, 0.5 * x]),
        fmt=["212", "212"],
        write_dir=str(tmp_path),
    )
    return tmp_path / "100.hea"


@pytest.mark.parametrize("name", ["II", "MLII", "V1", "MCL1", "aVF", "Lead III", "ECG V5"])
def test_other_leads_are_refused(tmp_path: Path, lead_i: np.ndarray, name: str) -> None:
    with pytest.raises(InputError, match=f"channel {name} is another lead than Lead I"):
        read_lead(from_array_file(tmp_path, lead_i, name), lead=name)


def from_array_file(folder: Path, x: np.ndarray, name: str) -> Path:
    lines = [name] + [f"{v:.4f}" for v in x]
    return write_text(folder / "one.csv", ["# fs = 500", *lines])


def test_cli_refuses_mlii_unless_accepted_and_then_says_so_everywhere(
    tiny_model: Path, mitbih: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    one_line_error(run("reconstruct", mitbih, "-o", out), "no Lead I (channels: MLII, V5)")
    one_line_error(
        run("reconstruct", mitbih, "-o", out, "--lead", "MLII", "--plot"),
        "channel MLII is another lead than Lead I",
        "--accept-other-lead",
    )
    assert not out.exists() or not list(out.iterdir())
    for fmt in ("wfdb", "csv", "npz"):
        result = run(
            "reconstruct",
            mitbih,
            "-o",
            out / fmt,
            "--lead",
            "mlii",
            "--accept-other-lead",
            "--format",
            fmt,
            "--plot",
        )
        assert result.exit_code == 0, result.output
        assert "reconstructed from channel MLII, not Lead I" in result.output
    said = "estimated from channel MLII, not Lead I (the model was trained on Lead I)"
    assert said in wfdb.rdheader(str(out / "wfdb" / "100_12lead")).comments[0]
    assert said in (out / "csv" / "100_12lead.csv").read_text().splitlines()[0]
    with np.load(out / "npz" / "100_12lead.npz") as z:
        assert said in str(z["comments"][0]) and z["p_signal"].dtype == np.float32
    rec = ecg12.reconstruct(mitbih, lead="MLII", accept_other_lead=True)
    assert rec.from_other_lead and said in rec.disclaimer
    texts = [t.get_text() for t in rec.plot().texts]
    assert any(said in t for t in texts)
    assert any("reconstructed from channel MLII" in t for t in texts)  # the warning


# --- arrays ---------------------------------------------------------------------------------


def test_arrays_get_the_checks_files_get(tiny_model: Path, tmp_path: Path, lead_i) -> None:
    np.save(tmp_path / "uv.npy", lead_i * 1000)
    with pytest.raises(InputError, match="does not look like mV") as from_file:
        ecg12.reconstruct(tmp_path / "uv.npy", fs=500)
    with pytest.raises(InputError, match="does not look like mV") as from_memory:
        ecg12.reconstruct(lead_i * 1000, fs=500)
    assert from_file.value.problem == from_memory.value.problem
    rec = ecg12.reconstruct(lead_i * 1000, fs=500, units="uV")
    assert rec.input_format == "array" and rec.input_lead == "I"
    twelve = from_array(np.tile(lead_i, (12, 1)), 500)  # (channels, samples) is transposed
    assert twelve.signal.shape == (lead_i.size, 12) and twelve.sig_name[6] == "V1"
    with pytest.raises(
        InputError, match=r"no Lead I \(channels: ch1, ch2, .*\(20 in all\)"
    ) as info:
        ecg12.reconstruct(np.tile(lead_i, (20, 1)), fs=500)
    assert len(str(info.value)) < 200


# --- hostile input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"fs": "500"}, "sampling rate must be a number of Hz, not '500'"),
        ({"fs": 500j}, "sampling rate must be a number of Hz"),
        ({"fs": float("nan")}, "must be a positive, finite number of Hz, got nan"),
        ({"fs": float("inf")}, "must be a positive, finite number of Hz, got inf"),
        ({"fs": 1e308}, "above the 100000 Hz maximum"),
        ({"fs": 500, "lead": 1}, "lead must be a channel name, not int"),
        ({"fs": 500, "notch_hz": -50}, "notch_hz must be 50 or 60"),
        ({"fs": 500, "notch_hz": "50"}, "notch_hz must be 50 or 60"),
        ({"fs": 500, "out_fs": 0}, "output rate must be a positive"),
        ({"fs": 500, "out_fs": 1}, "output rate 1 Hz is below the 100 Hz minimum"),
        ({"fs": 500, "out_fs": float("inf")}, "output rate must be a positive, finite"),
        ({"fs": 500, "out_fs": 50_000}, "above the 10000 Hz maximum"),
    ],
)
def test_api_arguments_are_checked(tiny_model: Path, lead_i, kwargs: dict, problem: str) -> None:
    with pytest.raises(InputError) as info:
        ecg12.reconstruct(lead_i, **kwargs)
    assert problem in str(info.value)


def test_api_misuse_gets_plain_words(tiny_model: Path, tmp_path: Path, lead_i) -> None:
    model = ecg12.load()
    with pytest.raises(InputError, match="expected a list of inputs, got a single str"):
        model.reconstruct_many(str(EXAMPLES / "lead_i.hea"))
    rec = model.reconstruct(lead_i, fs=500)
    for name in ("../../x", "a/b", "..", ""):
        with pytest.raises(InputError, match="name must be a file name without folders"):
            rec.write(tmp_path / "d", name=name)
    assert not list(tmp_path.parent.glob("x.*")) and not (tmp_path / "d").exists()
    np.save(tmp_path / "complex.npy", lead_i + 1j)
    with pytest.raises(InputError, match=r"complex\.npy: complex values"):
        read_recording(tmp_path / "complex.npy", fs=500)
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="holds Python objects") as info:
        read_recording(tmp_path / "objects.npy", fs=500)
    assert "allow_pickle" not in str(info.value)


def test_cli_hostile_options_and_names(tiny_model: Path, tmp_path: Path) -> None:
    example, out = EXAMPLES / "lead_i.hea", tmp_path / "out"
    for option, value, problem in [
        ("--fs", "inf", "--fs must be a positive, finite number"),
        ("--fs", "1e308", "--fs 1e+308 Hz is above the 100000 Hz maximum"),
        ("--out-fs", "inf", "output rate must be a positive, finite number"),
        ("--out-fs", "0", "output rate must be a positive"),
        ("--out-fs", "1", "output rate 1 Hz is below the 100 Hz minimum"),
    ]:
        one_line_error(run("reconstruct", example, "-o", out, option, value), problem)
    one_line_error(run("reconstruct", "", "-o", out), "an input name is empty")
    assert not out.exists()
    one_line_error(run("info", ""), "no file name given")
    one_line_error(run("info", "./"), "is a folder, not a recording")
    one_line_error(run("info", example, "--fs", "1e308"), "above the 100000 Hz maximum")
    escape = tmp_path / "x\x1b[31mred.csv"
    escape.write_text("time_s,I\n0,abc\n")
    result = run("info", escape)
    one_line_error(result, "x\\x1b[31mred.csv")
    assert "\x1b" not in result.output


def test_plot_start_inf_is_a_clean_error(tiny_model: Path, tmp_path: Path) -> None:
    assert run("reconstruct", EXAMPLES / "lead_i.hea", "-o", tmp_path).exit_code == 0
    record = tmp_path / "lead_i_12lead.hea"
    one_line_error(run("plot", record, "-o", tmp_path / "p.png", "--start", "inf"), "start")
    assert not (tmp_path / "p.png").exists()


# --- pictures -------------------------------------------------------------------------------


def test_plot_of_a_written_record_keeps_disclaimer_and_warnings(
    tiny_model: Path, tmp_path: Path, holter: Path
) -> None:
    assert run("reconstruct", holter, "--lead", "ECG1", "-o", tmp_path / "o").exit_code == 0
    png = tmp_path / "p.png"
    result = run("plot", tmp_path / "o" / "patch_12lead.hea", "-o", png, "--title", "mine")
    assert result.exit_code == 0, result.output
    from ecg12.plot import read_printout

    printout = read_printout(tmp_path / "o" / "patch_12lead.hea")
    assert printout.disclaimer == ecg12.result.DISCLAIMER
    assert any("taken as Lead I" in w for w in printout.warnings)
    assert stat.S_IMODE(png.stat().st_mode) == 0o666 & ~_umask()


def test_rec_plot_compare_path_and_no_overwrite(tiny_model: Path, tmp_path: Path) -> None:
    rec = ecg12.reconstruct(EXAMPLES / "lead_i.hea")
    rec.write(tmp_path)
    fig = rec.plot(tmp_path / "p.png", compare=tmp_path / "lead_i_12lead.hea")
    assert len(fig.legends) == 1  # the overlay's legend
    kept = (tmp_path / "p.png").read_bytes()
    with pytest.raises(FileExistsError):
        rec.plot(tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes() == kept
    rec.plot(tmp_path / "p.png", overwrite=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
