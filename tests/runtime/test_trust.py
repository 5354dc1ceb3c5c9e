"""Per-lead expected error: from the card into the result, the files, the CLI and the plot."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import wfdb
from click.testing import CliRunner

import ecg12
from ecg12.cli import main
from ecg12.leads import LEAD_NAMES
from ecg12.trust import FEATURES, Calibration, features

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lead_i.hea"
# Known answer: expected error = 0.05 mV x (lead amplitude / Lead I amplitude) ** 0.5,
# III marked poor by its coefficient (x 20), every other lead good or fair by amplitude.
COEF = {n: [np.log(0.05), -0.5, 0.5, 0.0, 0.0, 0.0, 0.0] for n in LEAD_NAMES[1:]}
COEF["III"] = [np.log(1.0), -0.5, 0.5, 0.0, 0.0, 0.0, 0.0]


def trust_block() -> dict:
    return {
        "features": list(FEATURES),
        "coef": {k: list(v) for k, v in COEF.items()},
        "sigma": {n: 0.4 for n in LEAD_NAMES[1:]},
        "grades_ratio": [0.05, 0.15],
        "method": "test",
        "fitted_on": "nothing",
    }


def test_expected_error_follows_the_calibration(calibrated: Path) -> None:
    rec = ecg12.reconstruct(EXAMPLE)
    amp = np.percentile(rec.p_signal, 99, axis=0) - np.percentile(rec.p_signal, 1, axis=0)
    amp = np.maximum(amp, 1e-3)  # aVL of the tiny model is I - 2I/2 = 0
    want = 0.05 * np.sqrt(amp / amp[0])
    want[0] = 0.0
    want[2] *= 20
    np.testing.assert_allclose(rec.expected_error_mv, want, rtol=0.02)
    ratio = want / amp
    assert rec.grades[0] == "good" and rec.grades[2] == "poor"
    for g, r in zip(rec.grades[1:], ratio[1:], strict=True):
        assert g == ("good" if r < 0.05 else "fair" if r < 0.15 else "poor")


@pytest.mark.parametrize("out_fs", [None, 360.0, 1000.0])
def test_expected_error_does_not_depend_on_the_output_rate(calibrated: Path, out_fs) -> None:
    """The calibration was fitted at 500 Hz: a result asked for at another rate (or at the
    model's own, 250 Hz) must carry the same expected error and grades as one at 500 Hz."""
    at_500 = ecg12.reconstruct(EXAMPLE)
    other = ecg12.reconstruct(EXAMPLE, out_fs=out_fs)
    assert other.fs != at_500.fs
    np.testing.assert_allclose(other.expected_error_mv, at_500.expected_error_mv, rtol=1e-6)
    assert other.grades == at_500.grades


def test_interval_is_log_normal() -> None:
    calib = Calibration.from_dict(trust_block())
    lo, hi = calib.interval(np.full(12, 0.1), coverage=0.8)
    np.testing.assert_allclose(hi[1:] / 0.1, np.exp(1.2816 * 0.4), rtol=1e-3)
    np.testing.assert_allclose(lo[1:] * hi[1:], 0.01, rtol=1e-6)


def test_features_come_from_the_reconstruction() -> None:
    t = np.arange(5000) / 500
    leads = np.stack([np.sin(2 * np.pi * t) * (k + 1) for k in range(12)], axis=1)
    x = features(leads, 500.0, np.full(12, 0.01))
    assert x.shape == (12, len(FEATURES)) and np.all(x[:, 0] == 1)
    np.testing.assert_allclose(np.exp(x[:, 2]) / np.exp(x[0, 2]), np.arange(1, 13), rtol=1e-2)
    assert x[0, 3] < 1e-3  # a clean sine has no power above 40 Hz


def test_assess_is_expected_error_and_amplitude_in_one() -> None:
    """One spectrum and one amplitude per record serve features and grades alike: the same
    numbers as computing each on its own."""
    from ecg12.dsp import amplitude, band_ratio

    rng = np.random.default_rng(5)
    leads = (
        rng.normal(size=(5000, 12)).cumsum(axis=0) * 0.01 + np.sin(np.arange(5000) / 40)[:, None]
    )
    spread = np.full(12, 0.02)
    calib = Calibration.from_dict(trust_block())
    expected, amp = calib.assess(leads, 500.0, spread)
    np.testing.assert_array_equal(amp, amplitude(leads))
    x = features(leads, 500.0, spread)
    want = [0.0] + [float(np.exp(x[i] @ COEF[n])) for i, n in enumerate(LEAD_NAMES) if i]
    np.testing.assert_allclose(expected, want, rtol=1e-12)  # the known answer of COEF
    assert x[0, 3] == band_ratio(leads[:, 0], 500.0, 40.0, np.inf)
    assert x[0, 5] == band_ratio(leads[:, 0], 500.0, 0.5, 2.0)


def test_bad_calibration_is_refused(tiny_model: Path) -> None:
    data = json.loads(tiny_model.read_text())
    block = trust_block()
    del block["coef"]["V6"]
    data["models"]["tiny"]["trust"] = block
    tiny_model.write_text(json.dumps(data))
    with pytest.raises(ecg12.ModelError, match="trust"):
        ecg12.load_registry()


def test_files_carry_the_expected_error(calibrated: Path, tmp_path: Path) -> None:
    rec = ecg12.reconstruct(EXAMPLE)
    rec.write(tmp_path / "w")
    header = wfdb.rdheader(str(tmp_path / "w" / "lead_i_12lead"))
    line = next(c for c in header.comments if c.startswith("expected error"))
    assert "III" in line and "poor" in line
    rec.write(tmp_path / "n", fmt="npz")
    with np.load(tmp_path / "n" / "lead_i_12lead.npz") as z:
        np.testing.assert_allclose(z["expected_error_mv"], rec.expected_error_mv, rtol=1e-6)
        assert list(z["grades"]) == rec.grades
    written = rec.write(tmp_path / "c", fmt="csv")
    sidecar = tmp_path / "c" / "lead_i_12lead_trust.csv"
    assert sidecar in written
    rows = [r.split(",") for r in sidecar.read_text().splitlines()]
    assert rows[0] == ["lead", "expected_error_mv", "grade"] and len(rows) == 13
    assert [r[0] for r in rows[1:]] == list(LEAD_NAMES)
    np.testing.assert_allclose([float(r[1]) for r in rows[1:]], rec.expected_error_mv, atol=1e-4)
    with pytest.raises(FileExistsError):
        rec.write(tmp_path / "c", fmt="csv")


def test_cli_prints_the_table_unless_quiet(calibrated: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["reconstruct", str(EXAMPLE), "-o", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert "error mV" in result.output and "poor" in result.output
    assert all(n in result.output for n in ("aVF", "V6"))
    quiet = CliRunner().invoke(main, ["reconstruct", str(EXAMPLE), "-o", str(tmp_path / "b"), "-q"])
    assert quiet.exit_code == 0 and quiet.output == ""


def test_the_printed_table_lines_up_each_lead(calibrated: Path) -> None:
    """Each lead's error and grade sit right-aligned under its name, a wide value widening
    only its own column, in 80 columns for eleven leads."""
    import dataclasses

    from ecg12.cli.reconstruct import trust_table

    rec = ecg12.reconstruct(EXAMPLE)
    errors = np.where(np.arange(12) == 3, 12.345, rec.expected_error_mv)
    lines = trust_table(dataclasses.replace(rec, expected_error_mv=errors)).plain.splitlines()
    assert [line.split()[0] for line in lines] == ["II", "error", "grade"]
    assert len({len(line) for line in lines}) == 1 and len(lines[0]) <= 80
    ends = [m.end() for m in re.finditer(r"\S+", lines[0])]
    assert ends == [m.end() for m in re.finditer(r"\S+", lines[1])][2:]  # under "error mV"
    assert ends == [m.end() for m in re.finditer(r"\S+", lines[2])][1:]
    assert lines[1].split()[2:] == [f"{e:.3f}" for e in errors[1:]]
    assert lines[2].split()[1:] == rec.grades[1:]
    assert lines[0].split() == list(LEAD_NAMES[1:])


def test_uncalibrated_models_say_nothing(tiny_model: Path, tmp_path: Path) -> None:
    rec = ecg12.reconstruct(EXAMPLE)
    assert rec.expected_error_mv is None and rec.grades is None and rec.trust_table() == []
    result = CliRunner().invoke(main, ["reconstruct", str(EXAMPLE), "-o", str(tmp_path)])
    assert "expected error" not in result.output


def test_plot_marks_the_poor_lead(calibrated: Path, tmp_path: Path) -> None:
    from matplotlib.image import imread

    from ecg12.plot import COLOURS

    rec = ecg12.reconstruct(EXAMPLE)
    rec.plot(tmp_path / "p.png")
    pixels = (imread(tmp_path / "p.png")[..., :3] * 255).round()
    shade = np.array([int(COLOURS["poor_shade"][i : i + 2], 16) for i in (1, 3, 5)])
    assert (np.abs(pixels - shade).max(axis=-1) <= 4).sum() > 1000


def test_plot_of_the_written_record_keeps_grades_and_a_legend(
    calibrated: Path, tmp_path: Path
) -> None:
    from ecg12.plot import read_printout
    from ecg12.result import DISCLAIMER

    rec = ecg12.reconstruct(EXAMPLE)
    rec.write(tmp_path)
    printout = read_printout(tmp_path / "lead_i_12lead.hea")
    assert printout.grades == rec.grades and printout.disclaimer == DISCLAIMER
    png = tmp_path / "p.png"
    result = CliRunner().invoke(
        main, ["plot", str(tmp_path / "lead_i_12lead.hea"), "-o", str(png), "--title", "mine"]
    )
    assert result.exit_code == 0, result.output
    fig = rec.plot(title="mine")
    texts = [t.get_text() for t in fig.texts]
    assert "mine" in texts and DISCLAIMER in texts
    assert {"good", "fair", "poor"} <= set(texts)  # the legend's badges
    assert any("grade of each lead by its expected error" in t for t in texts)


def test_trust_csv_and_picture_are_as_readable_as_the_record(
    calibrated: Path, tmp_path: Path
) -> None:
    import os
    import stat

    mask = os.umask(0o022)
    os.umask(mask)
    rec = ecg12.reconstruct(EXAMPLE)
    written = rec.write(tmp_path, fmt="csv") + [rec.plot(tmp_path / "p.svg") and tmp_path / "p.svg"]
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in written}
    assert set(modes.values()) == {0o666 & ~mask}, modes
