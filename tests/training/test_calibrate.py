"""training.calibrate: the fit on synthetic errors with a known answer, its honesty (out of fold),
grades that agree with the runtime, and the trust block's round trip through a real registry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from httpserver import MODEL_FILE, card_entry, write_registry, write_tiny_model

import ecg12
from ecg12.dsp import amplitude
from ecg12.trust import FEATURES, Calibration, features
from training.calibrate import (
    CV_FOLDS,
    Observations,
    covered,
    fit_leads,
    grade,
    grade_thresholds,
    out_of_fold,
    predict,
    spearman,
    trust_block,
    write_trust,
)
from training.data import load_record
from training.metrics import RECONSTRUCTED

FS = 500.0
N = 3000
# Known answer: per lead, log MAE = x . COEF[lead] + N(0, SIGMA[lead]).
COEF = np.array([[-3.0 + 0.1 * j, 0.5, 0.3 - 0.05 * j, 2.0, 0.4, 1.0, 0.6] for j in range(11)])
SIGMA = np.linspace(0.3, 0.6, 11)


def synthetic(seed: int, n: int = N) -> tuple[np.ndarray, np.ndarray]:
    """Design rows (n, 11, features) shaped like ecg12.trust.features and log MAE (n, 11)."""
    rng = np.random.default_rng(seed)
    x = np.empty((n, 11, len(FEATURES)))
    x[..., 0] = 1.0
    x[..., 1] = rng.normal(0.0, 0.4, (n, 1))  # log Lead I amplitude: one per record
    x[..., 2] = rng.normal(0.0, 0.5, (n, 11))  # log lead amplitude
    x[..., 3] = rng.uniform(0.0, 0.2, (n, 1))  # Lead I noise ratio
    x[..., 4] = rng.normal(4.2, 0.2, (n, 1))  # log heart rate
    x[..., 5] = rng.uniform(0.0, 0.3, (n, 1))  # Lead I wander ratio
    x[..., 6] = rng.normal(-4.0, 0.5, (n, 11))  # log window spread
    log_mae = np.einsum("nlf,lf->nl", x, COEF) + rng.normal(0.0, 1.0, (n, 11)) * SIGMA
    return x, log_mae


def synthetic_obs(seed: int, n: int = 200) -> Observations:
    x, log_mae = synthetic(seed, n)
    r = np.random.default_rng(seed + 1).uniform(-0.2, 1.0, (n, 11))
    return Observations(x, np.exp(log_mae), r, list(range(1, n + 1)))


@pytest.fixture(scope="module")
def fitted() -> tuple[dict[str, list[float]], dict[str, float]]:
    return fit_leads(*synthetic(0))


def test_fit_recovers_known_coefficients_and_sigma(fitted) -> None:
    coef, sigma = fitted
    assert list(coef) == list(RECONSTRUCTED)
    x, _ = synthetic(0)
    for j, name in enumerate(RECONSTRUCTED):
        # Within 4 standard errors of least squares (sigma^2 (X'X)^-1) of the known answer.
        se = SIGMA[j] * np.sqrt(np.diag(np.linalg.inv(x[:, j].T @ x[:, j])))
        assert np.all(np.abs(np.array(coef[name]) - COEF[j]) < 4 * se), name
    np.testing.assert_allclose([sigma[n] for n in RECONSTRUCTED], SIGMA, rtol=0.06)


def test_interval_covers_80_percent_of_fresh_data(fitted) -> None:
    coef, sigma = fitted
    x, log_mae = synthetic(1)
    inside = covered(np.exp(log_mae), predict(coef, x), sigma, 0.8)
    assert abs(inside.mean() - 0.8) < 0.03
    assert np.all(np.abs(inside.mean(axis=0) - 0.8) < 0.03)  # every lead
    assert abs(covered(np.exp(log_mae), predict(coef, x), sigma, 0.5).mean() - 0.5) < 0.03


def test_spearman_of_a_perfect_predictor_is_one() -> None:
    x, log_mae = synthetic(2, 500)
    actual = np.exp(log_mae[:, 0])
    assert spearman(actual * 3.0, actual) == pytest.approx(1.0)
    assert spearman(np.exp(x[:, 0] @ COEF[0]), actual) < 0.95  # noise costs rank agreement
    assert abs(spearman(np.random.default_rng(0).permutation(actual), actual)) < 0.15


def test_out_of_fold_predictions_never_see_their_record() -> None:
    x, log_mae = synthetic(3, 200)
    expected, inside = out_of_fold(x, log_mae, (0.5, 0.8))
    assert expected.shape == (200, 11) and inside.shape == (2, 200, 11)
    changed = log_mae.copy()
    changed[0] += 5.0  # record 0 (CV fold 0) gets a wildly larger error
    again, _ = out_of_fold(x, changed)
    assert np.allclose(again[0], expected[0])  # its own prediction does not move
    others = np.arange(200) % CV_FOLDS != 0  # the other CV folds: records i mod k
    assert not np.allclose(again[others], expected[others])  # fits that saw it do move


def test_grade_thresholds_match_outcome_shares_and_the_runtime(shared_data: Path) -> None:
    ratio = np.linspace(0.0, 1.0, 10001)
    r = 1.0 - ratio  # r >= 0.9 for 10% of leads, r < 0.7 for 70%
    lo, hi = grade_thresholds(ratio, r, (0.9, 0.7))
    assert lo == pytest.approx(0.1, abs=1e-3) and hi == pytest.approx(0.3, abs=1e-3)
    # grade() is what the runtime does with the same thresholds, on a real record.
    leads, _ = load_record(shared_data / "fixtures/ptbxl-native/records500/00000/00001_hr")
    cal = Calibration({}, {}, (lo, hi), {})
    ratios = np.array([0.0, 0.05, 0.099, 0.1002, 0.2, 0.299, 0.3002, 0.31, 2.0, 0.5, 0.15, 0.8])
    runtime = cal.grades(ratios * amplitude(leads), amplitude(leads))
    offline = grade(ratios[1:], (lo, hi))
    assert runtime[1:] == [("good", "fair", "poor")[g] for g in offline]
    assert runtime[1:4] == ["good", "good", "fair"] and runtime[7] == "poor"


def test_heart_rate_and_wander_features() -> None:
    t = np.arange(int(60 * FS)) / FS
    beats = np.exp(-0.5 * ((t[:, None] - (np.arange(75) * 0.8 + 0.4)) / 0.01) ** 2).sum(axis=1)
    leads = np.zeros((len(t), 12))
    leads[:, 0] = beats
    x = features(leads, FS, np.full(12, 0.01))[0]
    rate, wander = (
        np.exp(x[FEATURES.index("log_heart_rate")]),
        x[FEATURES.index("lead_i_wander_ratio")],
    )
    assert rate == pytest.approx(75.0, abs=1.0) and wander < 0.2
    leads[:, 0] += 2.0 * np.sin(2 * np.pi * 1.0 * t)
    assert features(leads, FS, np.full(12, 0.01))[0, FEATURES.index("lead_i_wander_ratio")] > 0.5


def test_only_the_runtime_features_can_be_shipped() -> None:
    obs = synthetic_obs(4)
    obs.x = np.concatenate([obs.x, np.ones((*obs.x.shape[:2], 1))], axis=2)
    with pytest.raises(ValueError, match="FEATURES"):
        trust_block(obs)


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    data = write_tiny_model(tmp_path / MODEL_FILE)
    return write_registry(tmp_path / "registry.json", {"tiny": card_entry(data, bundled=True)})


def test_trust_block_round_trip(registry: Path, shared_data: Path) -> None:
    block, expected = trust_block(synthetic_obs(5), command="python -m training.calibrate ...")
    assert expected.shape == (200, 11)
    before = json.loads(registry.read_text())["models"]["tiny"]
    write_trust("tiny", block, registry)
    after = json.loads(registry.read_text())["models"]["tiny"]
    assert {k: v for k, v in after.items() if k != "trust"} == before
    assert after["trust"]["fitted_on"] == "PTB-XL fold 9, 200 records"
    validation = after["trust"]["validation"]
    assert set(validation["spearman"]["per_lead"]) == set(RECONSTRUCTED)
    assert 0.7 < validation["coverage80"]["overall"] < 0.9
    assert 0.3 < validation["spearman"]["mean"] < 1.0  # the synthetic model is informative

    cal = ecg12.load_registry(registry).card("tiny").trust
    assert isinstance(cal, Calibration) and cal.grades_ratio == tuple(block["grades_ratio"])
    leads, _ = load_record(shared_data / "fixtures/ptbxl-native/records500/00000/00001_hr")
    err = cal.assess(leads, FS, np.full(12, 0.01))[0]
    assert err.shape == (12,) and err[0] == 0.0 and np.all(err[1:] > 0)
    np.testing.assert_allclose(
        err[1:], predict(cal.coef, features(leads, FS, np.full(12, 0.01))[None, 1:])[0], rtol=1e-9
    )


def test_write_trust_refuses_a_block_that_does_not_parse(registry: Path) -> None:
    block, _ = trust_block(synthetic_obs(6))
    del block["coef"]["V6"]
    before = registry.read_bytes()
    with pytest.raises(ValueError, match="coefficient row per reconstructed lead"):
        write_trust("tiny", block, registry)
    assert registry.read_bytes() == before


def test_calibrations_by_input_set_round_trip(tmp_path: Path, shared_data: Path) -> None:
    """An any-lead card gets one block per input set; the runtime reads it back and expects
    no error on the given leads and the fitted error on the others."""
    from anylead import write_anylead_bundle

    from ecg12.trust import reference_lead
    from training.calibrate import write_trust_by_inputs

    given = ("II", "V5")
    leads_est = tuple(n for n in ecg12.LEAD_NAMES if n not in given)
    obs = synthetic_obs(7)
    n = len(leads_est)  # 10 of the synthetic 11 leads
    obs = Observations(obs.x[:, :n], obs.mae[:, :n], obs.r[:, :n], obs.ecg_ids, leads_est)
    block, expected = trust_block(obs)
    assert expected.shape == (200, 10) and set(block["coef"]) == set(leads_est)
    registry = write_anylead_bundle(tmp_path / "bundle")
    write_trust_by_inputs("anylead", {"II+V5": block}, registry)
    card = ecg12.load_registry(registry).card("anylead")
    cal = card.calibration(given)
    assert cal is not None and card.calibration(("I",)) is None
    leads, _ = load_record(shared_data / "fixtures/ptbxl-native/records500/00000/00001_hr")
    err = cal.assess(leads, FS, np.full(12, 0.01))[0]
    x = features(leads, FS, np.full(12, 0.01), reference_lead(given))
    for i, name in enumerate(ecg12.LEAD_NAMES):
        if name in given:
            assert err[i] == 0.0
        else:
            assert err[i] == pytest.approx(np.exp(x[i] @ np.asarray(block["coef"][name])))
