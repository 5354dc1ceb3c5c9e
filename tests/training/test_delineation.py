"""training.delineation: known R, S, T and ST on synthetic beats, agreement of identical records,
and failed records counted rather than raised."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("neurokit2", reason="needs the train extra: pip install -e '.[train]'")

from ecg12.leads import LEAD_NAMES  # noqa: E402
from training.delineation import (  # noqa: E402
    MEASURES,
    DelineationError,
    fiducials,
    measure,
    measure_fold,
    score,
)
from training.evaluate import main  # noqa: E402
from training.figures import draw  # noqa: E402
from training.metrics import PRECORDIAL, RECONSTRUCTED, eval_band  # noqa: E402

FS = 500.0
N = 5000  # 10 s, as in PTB-XL
#: Lead k is the same beat times SCALES[k]; positive so that R, S and T keep their roles.
SCALES = np.array([1.0, 0.8, 0.5, 1.2, 0.3, 0.6, 0.4, 1.5, 2.0, 1.8, 1.4, 1.1])
R, S, T, ST = 1.0, -0.3, 0.3, 0.1
K = {m: MEASURES.index(m) for m in MEASURES}


def _beats(rr_s: float = 0.8, qrs_sigma_s: float = 0.01, st: float = ST) -> np.ndarray:
    """One lead of Gaussian P, Q, R, S, T waves every ``rr_s`` seconds, with an ST plateau
    of height ``st`` from J to past the T wave (smooth edges, so the band-pass keeps it)."""
    t = np.arange(N) / FS
    x = np.zeros(N)
    for c in np.arange(0.5, N / FS - 0.5, rr_s):
        for mu, sigma, amp in (
            (-0.16, 0.02, 0.12),
            (-0.025, 0.008, -0.1),
            (0.0, qrs_sigma_s, R),
            (0.03, 0.01, S),
            (0.25, 0.04, T),
        ):
            x += amp * np.exp(-0.5 * ((t - c - mu) / sigma) ** 2)
        x += st * 0.5 * (np.tanh((t - c - 0.07) / 0.01) - np.tanh((t - c - 0.32) / 0.01))
    return x


def _record(scale: float = 1.0, **kwargs: float) -> np.ndarray:
    """(samples, 12) mV: the beat train scaled per lead by SCALES and overall by ``scale``."""
    return scale * _beats(**kwargs)[:, None] * SCALES


def test_known_amplitudes_per_lead() -> None:
    x = eval_band(_record()[None], FS)[0]
    fid = fiducials(x[:, 0], FS)
    assert len(fid.onset) >= 10  # 11 beats in 10 s; edge beats may lack room for the windows
    m = measure(x, fid, FS)
    assert m.shape == (len(LEAD_NAMES), len(MEASURES))
    # The 40 Hz low-pass blunts the sharp R a little; the slower waves come through.
    np.testing.assert_allclose(m[:, K["r_mv"]], R * SCALES, rtol=0.08)
    np.testing.assert_allclose(m[:, K["s_mv"]], S * SCALES, rtol=0.1)
    np.testing.assert_allclose(m[:, K["t_mv"]], (T + ST) * SCALES, rtol=0.1)
    np.testing.assert_allclose(m[:, K["st_mv"]], ST * SCALES, rtol=0.15)
    # Same shape in every lead: one QRS duration whatever the amplitude, and a plausible one.
    qrs = m[:, K["qrs_ms"]]
    assert np.ptp(qrs) <= 4 and 50 <= qrs[0] <= 120


def test_wider_qrs_measures_longer() -> None:
    narrow, wide = (eval_band(_record(qrs_sigma_s=s)[None], FS)[0] for s in (0.01, 0.02))
    # The fiducials of the narrow record: the duration must come from the lead itself.
    fid = fiducials(narrow[:, 0], FS)
    assert (
        measure(wide, fid, FS)[:, K["qrs_ms"]] > measure(narrow, fid, FS)[:, K["qrs_ms"]] + 15
    ).all()


@pytest.fixture(scope="module")
def fold() -> np.ndarray:
    """Five records with different amplitudes, rates and ST levels, and a flat one (index 2)."""
    records = [
        _record(scale, rr_s=rr, st=st)
        for scale, rr, st in (
            (1.0, 0.8, 0.1),
            (0.6, 0.7, 0.0),
            (1.4, 0.9, 0.2),
            (0.8, 1.0, -0.1),
            (1.2, 0.75, 0.05),
        )
    ]
    records.insert(2, np.zeros((N, len(LEAD_NAMES))))
    return np.stack(records)


def test_identical_records_agree_perfectly(fold: np.ndarray) -> None:
    s = score(fold, fold.copy(), FS)
    assert s["records"] == 5 and s["failed"] == 1 and s["failed_indices"] == [2]
    assert set(s["per_lead"]) == set(RECONSTRUCTED)
    for m in ("r_mv", "s_mv", "t_mv", "st_mv"):
        for lead in PRECORDIAL:
            a = s["per_lead"][lead][m]
            assert a["slope"] == pytest.approx(1) and a["r2"] == pytest.approx(1)
            assert a["bias"] == pytest.approx(0, abs=1e-9)
        assert s["v1_v6"][m]["slope"] == pytest.approx(1)


def test_halved_reconstruction_shows_in_slope_and_bias(fold: np.ndarray) -> None:
    fm = measure_fold(fold, fold / 2, FS)
    assert fm.kept == [0, 1, 3, 4, 5] and fm.failed == [2]
    # Amplitudes halve; durations do not, because the slope threshold is relative.
    r, q = K["r_mv"], K["qrs_ms"]
    np.testing.assert_allclose(fm.rec[..., r], fm.real[..., r] / 2, rtol=1e-6)
    np.testing.assert_allclose(fm.rec[..., q], fm.real[..., q])
    s = score(fold, fold / 2, FS)
    assert s["v1_v6"]["r_mv"]["slope"] == pytest.approx(0.5)
    assert s["v1_v6"]["r_mv"]["bias"] < 0


@pytest.mark.parametrize("lead_i", [np.zeros(N), np.random.default_rng(0).normal(0, 0.01, N)])
def test_beatless_lead_raises_delineation_error(lead_i: np.ndarray) -> None:
    with pytest.raises(DelineationError):
        fiducials(lead_i, FS)


def test_too_few_records_give_nan_not_an_error(fold: np.ndarray) -> None:
    s = score(fold[:2], fold[:2], FS)
    assert s["records"] == 2 and np.isnan(s["v1_v6"]["r_mv"]["slope"])


# tiny's aVL is exactly zero, so its r is a mean of nothing (as in test_evaluate).
@pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning")
def test_evaluate_reports_beats_with_the_flag(
    shared_data: Path, tiny_registry: Path, tmp_path: Path
) -> None:
    """The command line, on the two fold-9 records of the fixture and a tiny real model."""
    out = tmp_path / "docs"
    main(
        [
            "--ptbxl",
            str(shared_data / "fixtures" / "ptbxl-native"),
            "--registry",
            str(tiny_registry),
            "--model",
            "tiny",
            "--fold",
            "9",
            "--delineation",
            "--out",
            str(out / "results.md"),
            "--json",
            str(out / "results.json"),
        ]
    )
    (res,) = json.loads((out / "results.json").read_text())["models"]
    beats = res["scores"]["delineation"]
    assert beats["records"] + beats["failed"] == 2 == res["records"]
    assert len(beats["failed_ecg_ids"]) == beats["failed"] and beats["seconds"] >= 0
    assert set(beats["v1_v6"]) == set(MEASURES) and set(beats["per_lead"]) == set(RECONSTRUCTED)
    page = (out / "results.md").read_text()
    assert "## Beat delineation" in page and "| ST level at J + 60 ms (mV) |" in page


@pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning")
def test_bland_altman_figure_is_drawn(
    shared_data: Path, tiny_registry: Path, tmp_path: Path
) -> None:
    paths = draw(
        "tiny", shared_data / "fixtures" / "ptbxl-native", tmp_path, fold=9, registry=tiny_registry
    )
    (ba,) = [p for p in paths if p.name == "tiny-bland-altman.png"]
    assert ba.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and ba.stat().st_size < 300_000
