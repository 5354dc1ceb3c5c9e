"""The clinical 12-lead plot and ``ecg12 plot``, on real PTB-XL, CinC and PTB records."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
import wfdb
from click.testing import CliRunner

from ecg12.cli.plot import command
from ecg12.errors import InputError
from ecg12.leads import LEAD_NAMES
from ecg12.plot import COLOURS, plot_12lead, read_12lead

# The standard the plot must meet, written out here rather than imported from the code under test.
MM_PER_S, MM_PER_INCH, PNG_DPI = 25.0, 25.4, 200

# Paper of a 10 s printout: 10 mm calibration area + 250 mm of trace, 4 rows of 40 mm,
# inside margins of 10 + 10 mm (sides) and 14 + 10 mm (title, footer).
PAPER_W_MM, PAPER_H_MM = 260.0, 160.0
FIG_W_MM, FIG_H_MM = 280.0, 184.0


@pytest.fixture(scope="module")
def ptbxl(shared_data: Path) -> Path:
    return shared_data / "fixtures" / "ptbxl-native" / "records500" / "00000" / "00001_hr"


@pytest.fixture(scope="module")
def record(ptbxl: Path) -> tuple[np.ndarray, float]:
    return read_12lead(ptbxl.with_suffix(".hea"))


@pytest.fixture(scope="module")
def plain_png(record, tmp_path_factory) -> tuple[np.ndarray, object]:
    path = tmp_path_factory.mktemp("png") / "plain.png"
    fig = plot_12lead(*record, path, title="PTB-XL 00001")
    return _pixels(path), fig


def _pixels(path: Path) -> np.ndarray:
    """RGB pixels as 0-255 integers."""
    return np.round(mpimg.imread(path)[..., :3] * 255).astype(int)


def _near(pixels: np.ndarray, colour: str, tol: float = 12.0) -> np.ndarray:
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    return np.linalg.norm(pixels - rgb, axis=-1) <= tol


def _paper_box(x0_mm: float, x1_mm: float, y0_mm: float, y1_mm: float) -> tuple[slice, slice]:
    """Pixel rows/columns of a box given in paper millimetres (origin: paper's bottom left)."""
    px = PNG_DPI / MM_PER_INCH
    left, bottom = 10.0, 10.0
    rows = slice(round((FIG_H_MM - bottom - y1_mm) * px), round((FIG_H_MM - bottom - y0_mm) * px))
    cols = slice(round((left + x0_mm) * px), round((left + x1_mm) * px))
    return rows, cols


def test_read_12lead_maps_names_of_every_dataset(shared_data: Path, record) -> None:
    signal, fs = record
    assert signal.shape == (5000, 12) and fs == 500.0
    cinc, cinc_fs = read_12lead(shared_data / "fixtures" / "cinc2021-ptbxl" / "HR06000.mat")
    ptb, ptb_fs = read_12lead(shared_data / "fixtures" / "ptb-diagnostic" / "s0010_re")
    assert cinc.shape == (5000, 12) and cinc_fs == 500.0
    assert ptb.shape == (38400, 12) and ptb_fs == 1000.0  # Frank leads vx, vy, vz dropped
    for leads in (signal, cinc, ptb):
        # Right column order: Einthoven (III = II - I) and Goldberger (aVR = -(I + II) / 2).
        assert np.allclose(leads[:, 2], leads[:, 1] - leads[:, 0], atol=0.02)
        assert np.allclose(leads[:, 3], -(leads[:, 0] + leads[:, 1]) / 2, atol=0.02)
        assert 0.3 < np.ptp(leads[:, 1]) < 10  # mV, not uV
    raw = wfdb.rdrecord(str(shared_data / "fixtures" / "ptb-diagnostic" / "s0010_re"))
    assert np.allclose(ptb[:, LEAD_NAMES.index("V6")], raw.p_signal[:, raw.sig_name.index("v6")])


def test_read_12lead_converts_microvolts_and_derives_limb_leads(record, tmp_path: Path) -> None:
    signal, fs = record
    keep = [0, 1, *range(6, 12)]  # I, II, V1-V6: no III, aVR, aVL, aVF
    wfdb.wrsamp(
        "uv",
        fs=fs,
        units=["uV"] * 8,
        sig_name=[LEAD_NAMES[i] for i in keep],
        p_signal=signal[:, keep] * 1000,
        fmt=["32"] * 8,
        adc_gain=[1.0] * 8,
        baseline=[0] * 8,
        write_dir=str(tmp_path),
    )
    got, got_fs = read_12lead(tmp_path / "uv.dat")
    assert got_fs == fs
    assert np.allclose(got, signal, atol=0.002)


def test_read_12lead_errors_name_the_file(tmp_path: Path, record) -> None:
    with pytest.raises(InputError, match="nope.hea: file not found"):
        read_12lead(tmp_path / "nope.hea")
    wfdb.wrsamp(
        "v1only",
        fs=500,
        units=["mV"],
        sig_name=["V1"],
        p_signal=record[0][:, 6:7],
        fmt=["16"],
        write_dir=str(tmp_path),
    )
    with pytest.raises(
        InputError, match=r"v1only: not a 12-lead record: record lacks lead I and II \(has V1\)"
    ):
        read_12lead(tmp_path / "v1only")


def test_png_is_true_scale(plain_png, record) -> None:
    pixels, fig = plain_png
    # Printed at 100 % the PNG is the paper: its pixel size is the figure size at 200 dpi
    # (to the pixel matplotlib truncates).
    expected = (FIG_H_MM / MM_PER_INCH * PNG_DPI, FIG_W_MM / MM_PER_INCH * PNG_DPI)
    assert np.allclose(pixels.shape[:2], expected, atol=1)
    w_in, h_in = fig.get_size_inches()
    assert w_in * MM_PER_INCH == pytest.approx(FIG_W_MM)
    assert h_in * MM_PER_INCH == pytest.approx(FIG_H_MM)
    (ax,) = fig.axes
    box = ax.get_position()
    assert box.width * w_in == pytest.approx((10.0 + 10 * MM_PER_S) / MM_PER_INCH)
    # One data unit is one millimetre in both directions.
    assert np.ptp(ax.get_xlim()) == pytest.approx(box.width * w_in * MM_PER_INCH)
    assert np.ptp(ax.get_ylim()) == pytest.approx(box.height * h_in * MM_PER_INCH)
    # 10 s of rhythm strip spans 250 mm (the longest trace), 1 mV is 10 mm (calibration pulse).
    rhythm = max(ax.get_lines(), key=lambda line: np.ptp(line.get_xdata()))
    assert np.ptp(rhythm.get_xdata()) == pytest.approx(4999 / 500 * MM_PER_S)
    lead_ii = record[0][:, LEAD_NAMES.index("II")]
    assert np.ptp(rhythm.get_ydata()) == pytest.approx(10.0 * np.ptp(lead_ii))
    pulse = ax.get_lines()[0]
    assert np.ptp(pulse.get_ydata()) == pytest.approx(10.0)
    assert sorted(set(np.round(np.diff(pulse.get_xdata()), 6)) - {0.0}) == [2.5, 5.0]
    texts = [t.get_text() for t in fig.texts]
    assert "PTB-XL 00001" in texts
    assert any("25 mm/s, 10 mm/mV" in t for t in texts)


def test_png_pixels_show_grid_trace_and_no_extras(plain_png) -> None:
    pixels, _ = plain_png
    total = pixels.shape[0] * pixels.shape[1]
    for name in ("minor", "major"):
        assert _near(pixels, COLOURS[name], tol=3).sum() > 0.02 * total, name
    assert _near(pixels, COLOURS["trace"], tol=40).sum() > 10_000
    assert _near(pixels, COLOURS["compare"], tol=40).sum() == 0
    assert _near(pixels, COLOURS["poor_shade"], tol=4).sum() == 0
    # The 5 mm lines repeat every 5 mm: the major colour fills whole pixel columns there.
    rows, _ = _paper_box(0, PAPER_W_MM, 0, PAPER_H_MM)
    major_cols = _near(pixels[rows], COLOURS["major"], tol=3).mean(axis=0) > 0.5
    assert 50 <= major_cols.sum() <= 2 * (PAPER_W_MM / 5 + 1)


def test_compare_overlays_resampled_reference_in_second_colour(
    record, ptbxl: Path, tmp_path: Path
) -> None:
    low, low_fs = read_12lead(ptbxl.parent.parent.parent / "records100" / "00000" / "00001_lr")
    assert low_fs == 100.0
    fig = plot_12lead(
        *record, tmp_path / "cmp.png", compare=low, compare_fs=low_fs, labels=("model", "PTB-XL")
    )
    pixels = _pixels(tmp_path / "cmp.png")
    assert _near(pixels, COLOURS["compare"], tol=40).sum() > 2_000
    (ax,) = fig.axes
    blue = [ln for ln in ax.get_lines() if ln.get_color() == COLOURS["compare"]]
    assert len(blue) == 13 and max(np.ptp(ln.get_xdata()) for ln in blue) > 249  # at 500 Hz
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["model", "PTB-XL"]


def test_grades_shade_poor_and_tag_fair(record, tmp_path: Path) -> None:
    grades = ["good"] * 12
    grades[LEAD_NAMES.index("aVR")] = "poor"
    grades[LEAD_NAMES.index("V2")] = "fair"
    fig = plot_12lead(*record, tmp_path / "graded.png", grades=grades)
    pixels = _pixels(tmp_path / "graded.png")
    shade = _near(pixels, COLOURS["poor_shade"], tol=4)
    # aVR: top row, second column (paper x 72.5-135 mm, y 120-160 mm); I is just left of it.
    avr = shade[_paper_box(75, 132, 122, 158)].mean()
    lead_i = shade[_paper_box(12, 70, 122, 158)].mean()
    assert avr > 0.5 and lead_i < 0.01
    assert _near(pixels, COLOURS["fair"], tol=10).sum() > 100
    assert _near(pixels, COLOURS["good"], tol=10).sum() > 100
    tags = [t.get_text() for t in fig.axes[0].texts if t.get_text() in ("good", "fair", "poor")]
    assert sorted(tags) == sorted(grades + ["good"])  # rhythm strip repeats Lead II's grade
    with pytest.raises(ValueError, match="one entry per lead"):
        plot_12lead(*record, grades=["good"] * 11)
    with pytest.raises(ValueError, match="'bad'"):
        plot_12lead(*record, grades=["bad"] * 12)


def test_pdf_and_svg_pages_are_paper_size(record, tmp_path: Path) -> None:
    w_pt, h_pt = FIG_W_MM / MM_PER_INCH * 72, FIG_H_MM / MM_PER_INCH * 72
    plot_12lead(*record, tmp_path / "ecg.pdf")
    pdf = (tmp_path / "ecg.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)", pdf)
    assert (float(box[1]), float(box[2])) == pytest.approx((w_pt, h_pt), abs=0.1)
    plot_12lead(*record, tmp_path / "ecg.svg")
    svg = (tmp_path / "ecg.svg").read_text()
    size = re.search(r'<svg[^>]*width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    assert (float(size[1]), float(size[2])) == pytest.approx((w_pt, h_pt), abs=0.1)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left


def test_short_long_and_broken_records(record, shared_data: Path, tmp_path: Path) -> None:
    signal, fs = record
    short = plot_12lead(signal[: int(4 * fs)], fs)
    assert short.get_size_inches()[0] * MM_PER_INCH == pytest.approx(20 + 10 + 4 * MM_PER_S)
    ptb, ptb_fs = read_12lead(shared_data / "fixtures" / "ptb-diagnostic" / "s0010_re.hea")
    late = plot_12lead(ptb, ptb_fs, start_s=30.0)  # 8.4 s left of 38.4 s
    assert late.get_size_inches()[0] * MM_PER_INCH == pytest.approx(20 + 10 + 8.4 * MM_PER_S)
    longest = max(np.ptp(ln.get_xdata()) for ln in late.axes[0].get_lines())
    assert longest == pytest.approx((8.4 * ptb_fs - 1) / ptb_fs * MM_PER_S)
    with pytest.raises(ValueError, match="nothing to plot"):
        plot_12lead(ptb, ptb_fs, start_s=40.0)
    broken = signal.copy()
    broken[100:400, :] = np.nan
    broken[1000, 3] = np.inf
    broken[:, 7] = np.nan
    plot_12lead(broken, fs, tmp_path / "gaps.png")
    assert _near(_pixels(tmp_path / "gaps.png"), COLOURS["trace"], tol=40).sum() > 5_000
    with pytest.raises(InputError, match="unsupported plot format '.jpg'"):
        plot_12lead(signal, fs, tmp_path / "ecg.jpg")
    assert not (tmp_path / "ecg.jpg").exists()
    with pytest.raises(ValueError, match="samples x 12"):
        plot_12lead(signal[:, :8], fs)


@pytest.mark.parametrize("suffix", ["png", "pdf", "svg"])
def test_cli_writes_each_format(ptbxl: Path, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"ecg.{suffix}"
    result = CliRunner().invoke(command, [str(ptbxl) + ".hea", "-o", str(out), "--title", "T"])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 10_000
    assert f"wrote {out}" in result.stdout


def test_cli_compare_start_and_overwrite(ptbxl: Path, shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp.png"
    reference = shared_data / "fixtures" / "ptbxl-native" / "records100" / "00000" / "00001_lr"
    args = [str(ptbxl), "-o", str(out), "--compare", str(reference), "--start", "2.5"]
    assert CliRunner().invoke(command, args).exit_code == 0
    pixels = _pixels(out)
    assert _near(pixels, COLOURS["compare"], tol=40).sum() > 2_000
    # 7.5 s remain after 2.5 s: 187.5 mm of trace on 190 mm of paper (whole 5 mm squares).
    assert abs(pixels.shape[1] - (20 + 10 + 190) / MM_PER_INCH * PNG_DPI) <= 1

    before = out.read_bytes()
    refused = CliRunner().invoke(command, [str(ptbxl), "-o", str(out)])
    assert refused.exit_code != 0
    assert refused.stderr.splitlines() == [f"error: {out} exists; pass --overwrite to replace it"]
    assert out.read_bytes() == before
    again = CliRunner().invoke(command, [str(ptbxl), "-o", str(out), "--overwrite"])
    assert again.exit_code == 0 and out.read_bytes() != before


def test_cli_missing_record_is_a_clean_error(tmp_path: Path) -> None:
    missing = tmp_path / "absent" / "rec.hea"
    result = CliRunner().invoke(command, [str(missing), "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and str(missing) in line
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.png").exists()
