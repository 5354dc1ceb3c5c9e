"""The linear floor: known-answer fits, the exported ONNX graph, and its card in a registry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from ecg12.leads import LEAD_NAMES
from ecg12.registry import load_registry, model_path
from training.data import build_cache
from training.linear import (
    SPEC,
    TAPS,
    apply_kernel,
    card,
    evaluate,
    fit_cache,
    fit_fir,
    full_kernel,
    session_predict,
    to_onnx,
    verify_onnx,
)

HALF = TAPS // 2


def centred_fir(x: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """y[t] = sum_k taps[k] x[t + k - HALF], written with scipy's causal lfilter and a shift."""
    causal = signal.lfilter(taps[::-1], [1.0], np.concatenate([x, np.zeros(HALF)]))
    return causal[HALF:]


@pytest.fixture(scope="module")
def fixture_fit(shared_data: Path) -> tuple:
    root = shared_data / "fixtures" / "ptbxl-native"
    cache = build_cache(root, SPEC, folds=tuple(range(1, 11)))
    folds = tuple(int(f) for f in np.unique(cache.fold))
    return cache, fit_cache(cache, folds)


@pytest.fixture(scope="module")
def exported(fixture_fit: tuple, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    kernel = full_kernel(fixture_fit[1])
    return to_onnx(kernel, tmp_path_factory.mktemp("linear") / "linear-v1.onnx"), kernel


def test_fit_recovers_known_filters_from_noisy_records() -> None:
    rng = np.random.default_rng(1)
    true = rng.standard_normal((3, TAPS)) * np.exp(-np.abs(np.arange(TAPS) - HALF) / 10)
    true[2] = 0
    true[2, HALF - 3] = 2.0  # a pure 3-sample delay, gain 2: y[t] = 2 x[t - 3]
    pairs = []
    for _ in range(4):
        x = np.cumsum(rng.standard_normal(5000)) * 0.1 + rng.standard_normal(5000)  # coloured
        y = np.stack([centred_fir(x, h) for h in true], axis=1)
        pairs.append((x, y + 0.01 * rng.standard_normal(y.shape)))
    fitted = fit_fir(pairs)
    assert fitted.shape == (3, TAPS)
    np.testing.assert_allclose(fitted, true, atol=2e-3)
    assert np.argmax(np.abs(fitted[2])) == HALF - 3


def test_fit_rejects_even_taps_and_no_data() -> None:
    with pytest.raises(ValueError, match="odd"):
        fit_fir([], taps=100)
    with pytest.raises(ValueError, match="no records"):
        fit_fir([])


def test_onnx_output_is_the_numpy_fir(exported: tuple) -> None:
    path, kernel = exported
    lead_i = np.random.default_rng(2).standard_normal((2, 700)).astype(np.float32)  # any window
    out = session_predict(path)(lead_i)
    assert out.shape == (2, 12, 700) and out.dtype == np.float32
    expected = np.stack([[np.correlate(x, k, "same") for k in kernel] for x in lead_i])
    np.testing.assert_allclose(out, expected, atol=1e-4)
    np.testing.assert_allclose(apply_kernel(lead_i, kernel), expected, atol=1e-9)
    assert verify_onnx(path, kernel) < 1e-4
    np.testing.assert_allclose(out[:, 0], lead_i, atol=1e-6)  # Lead I passes through


def test_onnx_output_obeys_the_limb_identities(exported: tuple) -> None:
    lead_i = np.random.default_rng(3).standard_normal((4, SPEC.window)).astype(np.float32)
    out = session_predict(exported[0])(lead_i).astype(np.float64)
    i, ii, iii, avr, avl, avf = (out[:, LEAD_NAMES.index(n)] for n in LEAD_NAMES[:6])
    for derived, expected in (
        (iii, ii - i),
        (avr, -(i + ii) / 2),
        (avl, i - ii / 2),
        (avf, ii - i / 2),
    ):
        np.testing.assert_allclose(derived, expected, atol=1e-4)


def test_fit_on_real_records_scores_through_the_runtime(
    fixture_fit: tuple, exported: tuple
) -> None:
    cache, fir = fixture_fit
    assert fir.shape == (7, TAPS) and np.isfinite(fir).all()
    stats = evaluate(cache, np.arange(len(cache.ecg_id)), session_predict(exported[0]))
    assert stats["records"] == len(cache.ecg_id) == 12
    # In-sample on 12 records the filters must explain much of II (Lead I is highly related).
    assert 0.3 < stats["mean_r"] < 1 and stats["per_lead"]["II"]["r"] > 0.5


def test_card_is_a_valid_bundled_registry_entry(
    fixture_fit: tuple, exported: tuple, tmp_path: Path
) -> None:
    from training.cards import register

    path = exported[0]
    bundle = tmp_path / "models"
    bundle.mkdir()
    (bundle / path.name).write_bytes(path.read_bytes())
    registry_file = bundle / "registry.json"
    registry_file.write_text(
        json.dumps({"base_url": "https://example.invalid/", "default": "linear", "models": {}})
    )
    cache, _ = fixture_fit
    stats = evaluate(cache, np.arange(len(cache.ecg_id)), session_predict(path))
    register(
        "linear",
        card(bundle / path.name, stats, records=12, fit_seconds=0.1),
        registry=registry_file,
    )

    registry = load_registry(registry_file)
    entry = registry.card("linear")
    assert entry.preprocessing == SPEC and entry.bundled
    assert model_path(entry, registry) == bundle / path.name  # sha256 checked
    assert set(entry.metrics["fold9"]["per_lead_r"]) == set(LEAD_NAMES[1:])
