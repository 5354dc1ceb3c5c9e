"""The amplitude-ceiling study: its predictors recover a known signal share, its Lead I features
are finite on real records, and it never touches the test fold."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ecg12.leads import LEAD_NAMES
from training import amplitude_ceiling as ac
from training.data import DEFAULT_SPEC, TEST_FOLD, Cache, build_cache
from training.metrics import PRECORDIAL, eval_band


def lognormal_r2(signal_var: float, noise_var: float) -> float:
    """R^2 of exp(s) against exp(s + e), s and e independent normals (the mV-scale ceiling)."""
    return (np.exp(signal_var) - 1) / (np.exp(signal_var + noise_var) - 1)


def test_ridge_recovers_the_analytic_r2() -> None:
    """log amplitude = 0.5 x one feature + noise of the same size, 19 irrelevant features:
    the CV-tuned ridge's fold-out R^2 matches the analytic value in log and in mV."""
    rng = np.random.default_rng(0)
    n_train, n_eval, p = 4000, 3000, 20
    x = rng.normal(size=(n_train + n_eval, p))
    k = len(ac.TARGETS)
    y = np.log(0.8) + 0.5 * x[:, [3]] + 0.5 * rng.normal(size=(n_train + n_eval, k))
    fit = ac.fit_ridge(x[:n_train], y[:n_train])
    pred = fit.predict(x[n_train:])
    real = y[n_train:]
    log_r2 = np.mean([np.corrcoef(pred[:, j], real[:, j])[0, 1] ** 2 for j in range(k)])
    assert log_r2 == pytest.approx(0.5, abs=0.03)
    scores = ac.amplitude_scores(np.exp(real), pred)
    assert scores["v1_v6_r2"] == pytest.approx(lognormal_r2(0.25, 0.25), abs=0.04)
    # A least-squares predictor shrinks: its slope is about its R^2, not 1.
    assert scores["v1_v6_slope"] == pytest.approx(scores["v1_v6_r2"], abs=0.1)
    # The OLS on the (irrelevant here) log-amplitude column alone explains nothing.
    cols = np.zeros((n_train + n_eval, len(ac.FEATURES)))
    cols[:, ac.FEATURES.index("log_amplitude")] = rng.normal(size=n_train + n_eval)
    ols = ac.fit_ols_lead_i(cols[:n_train], y[:n_train])
    assert ac.amplitude_scores(np.exp(real), ols.predict(cols[n_train:]))["v1_v6_r2"] < 0.01


def test_rff_ridge_captures_a_nonlinear_signal() -> None:
    """log amplitude = |feature| (not linear in it): the random-feature ridge finds it."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2500, 5))
    y = np.abs(x[:, [0]]) + 0.3 * rng.normal(size=(2500, len(ac.TARGETS)))
    lin = ac.fit_ridge(x[:2000], y[:2000])
    rff = ac.fit_rff(x[:2000], y[:2000], n_out=300)

    def r2(fit: ac.Ridge) -> float:
        return float(np.corrcoef(fit.predict(x[2000:])[:, 0], y[2000:, 0])[0, 1] ** 2)

    assert r2(lin) < 0.05
    assert r2(rff) > 0.5


@pytest.fixture(scope="module")
def fixture_cache(shared_data: Path) -> Cache:
    return build_cache(shared_data / "fixtures" / "ptbxl-native", DEFAULT_SPEC, tuple(range(1, 10)))


def test_features_are_finite_on_a_real_record(fixture_cache: Cache) -> None:
    fs = fixture_cache.spec.fs
    x = eval_band(fixture_cache.leads_mv(np.arange(2)), fs)
    feats = ac.lead_i_features(x[0, :, 0], fs)
    assert feats.shape == (len(ac.FEATURES),)
    assert np.isfinite(feats).all()
    assert 30 < feats[ac.FEATURES.index("heart_rate")] < 200
    beat = feats[ac.FEATURES.index("beat_00") :]
    assert len(beat) == ac.BEAT_POINTS and np.ptp(beat) > 0.1  # a QRS complex in the beat
    study = ac.study_data(fixture_cache, (9,))
    assert study.features.shape == (2, len(ac.FEATURES))
    assert study.amplitude_mv.shape == (2, 12) and (study.amplitude_mv > 0).all()


@pytest.mark.parametrize(
    "argv", [["--eval-fold", str(TEST_FOLD)], ["--train-folds", f"1,2,{TEST_FOLD}"]]
)
def test_the_test_fold_is_refused(argv: list[str], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="test fold"):
        ac.main(["--cache", str(tmp_path / "absent.npz"), *argv])
    with pytest.raises(ValueError, match="test fold"):
        ac.check_folds((9, TEST_FOLD))


def synthetic_cache(n: int = 60, samples: int = 2500) -> Cache:
    """Beats whose precordial size follows Lead I's (with noise); folds 1-8 and 9."""
    rng = np.random.default_rng(2)
    fs = DEFAULT_SPEC.fs
    t = np.arange(samples) / fs
    eight = np.zeros((n, samples, 8))
    for r in range(n):
        beats = np.arange(rng.uniform(0, 0.5), t[-1], 60 / rng.uniform(50, 100))
        pulse = sum(np.exp(-(((t - b) / 0.02) ** 2)) for b in beats)
        a_i = rng.lognormal(0, 0.4)
        sizes = [a_i, rng.lognormal(0, 0.4)] + list(a_i**0.7 * rng.lognormal(0.3, 0.3, 6))
        eight[r] = pulse[:, None] * np.asarray(sizes) + 0.01 * rng.normal(size=(samples, 8))
    fold = np.where(np.arange(n) < 48, np.arange(n) % 8 + 1, 9)
    signals = np.round(eight * 1000).astype(np.int16)
    # Recorded at 500 Hz; its Lead I "as 100 Hz gives it" is not used by this study.
    return Cache(
        signals, np.arange(1, n + 1), fold, DEFAULT_SPEC, np.full(n, 500.0), signals[:, :, 0]
    )


def test_main_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "cache.npz"
    synthetic_cache().save(path)
    out_json = tmp_path / "out" / "ceiling.json"
    ac.main(["--cache", str(path), "--json", str(out_json)])
    out = json.loads(out_json.read_text())
    assert out["records"] == {"train": 48, "eval": 12}
    assert out["features"] == list(ac.FEATURES)
    assert set(out["predictors"]) >= {"ols_log_amp_i", "ridge", "ridge_rff"}
    for res in out["predictors"].values():
        assert set(res["per_lead"]) == set(LEAD_NAMES[1:])
        assert np.isfinite(res["v1_v6_r2"])
    assert [p["fraction"] for p in out["learning_curve"]["points"]] == list(ac.FRACTIONS)
    assert "training.amplitude_ceiling" in out["command"]
    assert "V1-V6" in capsys.readouterr().out
    # Precordial size here follows Lead I's: even the one-feature OLS sees it.
    assert out["predictors"]["ols_log_amp_i"]["v1_v6_r2"] > 0.3
    assert all(v > 0 for v in [out["predictors"]["ridge"]["per_lead"][n]["r2"] for n in PRECORDIAL])
