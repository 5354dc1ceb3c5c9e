"""Limb-lead completion and assembling 12 leads around the given ones (ecg12.leads)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ecg12.leads import (
    LEAD_NAMES,
    LIMB_BASIS,
    N_LIMB,
    assemble_given,
    complete_limb_leads,
    complete_mask,
    derive_limb_leads,
    lead_mask,
    place_leads,
)

RNG = np.random.default_rng(14)


def consistent(samples: int = 400) -> np.ndarray:
    """12 leads (samples, 12) whose limb leads obey Einthoven and Goldberger exactly."""
    return derive_limb_leads(RNG.normal(size=(samples, 12)))


def mask(*names: str) -> np.ndarray:
    out = np.zeros(12, dtype=np.float32)
    out[[LEAD_NAMES.index(n) for n in names]] = 1.0
    return out


def assert_consistent(leads: np.ndarray, atol: float = 1e-12) -> None:
    i, ii, iii, avr, avl, avf = np.moveaxis(leads[..., :N_LIMB], -1, 0)
    np.testing.assert_allclose(iii, ii - i, atol=atol)
    np.testing.assert_allclose(avr, -(i + ii) / 2, atol=atol)
    np.testing.assert_allclose(avl, i - ii / 2, atol=atol)
    np.testing.assert_allclose(avf, ii - i / 2, atol=atol)
    np.testing.assert_allclose(avr + avl + avf, 0.0, atol=4 * atol)


def test_limb_basis_is_einthoven_and_goldberger() -> None:
    pair = RNG.normal(size=(50, 2))
    leads = np.zeros((50, 12))
    leads[:, :2] = pair
    np.testing.assert_allclose(pair @ LIMB_BASIS.T, derive_limb_leads(leads)[:, :N_LIMB])


@pytest.mark.parametrize("pair", list(itertools.combinations(LEAD_NAMES[:N_LIMB], 2)))
def test_any_two_limb_leads_determine_all_six_exactly(pair: tuple[str, str]) -> None:
    truth = consistent()
    present = mask(*pair, "V3")
    signals, done = complete_limb_leads(truth * present, present)
    np.testing.assert_allclose(signals[:, :N_LIMB], truth[:, :N_LIMB], atol=1e-12)
    np.testing.assert_array_equal(done, mask(*LEAD_NAMES[:N_LIMB], "V3"))
    np.testing.assert_array_equal(signals[:, 6:], (truth * present)[:, 6:])  # chest untouched


def test_inconsistent_limb_leads_are_fitted_by_least_squares() -> None:
    truth = consistent()
    present = mask("I", "II", "III", "aVF")
    noisy = truth + 0.1 * RNG.normal(size=truth.shape)
    signals, _ = complete_limb_leads(noisy * present, present)
    rows = [0, 1, 2, 5]
    fit, *_ = np.linalg.lstsq(LIMB_BASIS[rows], noisy[:, rows].T, rcond=None)  # (2, samples)
    np.testing.assert_allclose(signals[:, :2], fit.T, atol=1e-10)
    assert_consistent(signals)


def test_fewer_than_two_limb_leads_are_left_alone_and_batches_mix() -> None:
    truth = consistent()
    batch = np.stack([truth, truth, truth]).astype(np.float32)
    present = np.stack([mask("aVL", "V1"), mask("I", "aVF"), mask("V2")])
    signals, done = complete_limb_leads(batch * present[:, None, :], present)
    np.testing.assert_array_equal(signals[0], (batch[0] * present[0]))
    np.testing.assert_allclose(signals[1, :, :N_LIMB], truth[:, :N_LIMB], atol=1e-5)
    assert signals.dtype == np.float32
    np.testing.assert_array_equal(done[0], present[0])
    np.testing.assert_array_equal(done[1], mask(*LEAD_NAMES[:N_LIMB]))
    np.testing.assert_array_equal(done[2], present[2])


def test_given_chest_leads_pass_through_and_limb_leads_follow_the_model() -> None:
    truth, pred = consistent(), RNG.normal(size=(400, 12)).astype(np.float32)
    present = mask("V1", "V5")
    out = assemble_given(pred, truth * present, present)
    np.testing.assert_array_equal(out[:, [6, 10]], truth[:, [6, 10]].astype(np.float32))
    np.testing.assert_array_equal(out[:, [7, 8, 9, 11]], pred[:, [7, 8, 9, 11]])
    np.testing.assert_array_equal(out[:, :2], pred[:, :2])  # no limb lead given: the model's
    assert_consistent(out, atol=1e-6)


def test_two_limb_leads_given_replace_all_six() -> None:
    truth, pred = consistent(), RNG.normal(size=(400, 12))
    present = mask("II", "aVL", "V2")
    out = assemble_given(pred, truth * present, present)
    np.testing.assert_allclose(out[:, :N_LIMB], truth[:, :N_LIMB], atol=1e-12)
    np.testing.assert_array_equal(out[:, 7], truth[:, 7])
    np.testing.assert_array_equal(out[:, 6], pred[:, 6])


@pytest.mark.parametrize("name", LEAD_NAMES[:N_LIMB])
def test_one_limb_lead_given_is_kept_by_the_smallest_change(name: str) -> None:
    truth, pred = consistent(), RNG.normal(size=(400, 12))
    present = mask(name)
    out = assemble_given(pred, truth * present, present)
    k = LEAD_NAMES.index(name)
    np.testing.assert_allclose(out[:, k], truth[:, k], atol=1e-12)  # passed through
    assert_consistent(out)
    v = LIMB_BASIS[k]
    change = out[:, :2] - pred[:, :2]
    # The smallest change: along (a, b) only, by exactly the missing amount.
    np.testing.assert_allclose(change[:, 0] * v[1] - change[:, 1] * v[0], 0.0, atol=1e-12)
    want = (truth[:, k] - pred[:, :2] @ v) / (v @ v)
    np.testing.assert_allclose(change, want[:, None] * v, atol=1e-12)


def test_assembly_works_on_batches_of_windows() -> None:
    truth = np.stack([consistent(64) for _ in range(3)])
    pred = RNG.normal(size=truth.shape)
    present = np.stack([mask("III", "V4"), mask("I", "II"), mask("V6")])
    out = assemble_given(pred, truth * present[:, None, :], present)
    for b in range(3):
        alone = assemble_given(pred[b], truth[b] * present[b], present[b])
        np.testing.assert_allclose(out[b], alone, atol=1e-12)
    assert_consistent(out)


def test_place_leads_fills_rows_and_completes() -> None:
    truth = consistent()
    given, present = place_leads(truth[:, [0, 1, 10]], ["I", "II", "V5"])
    assert given.shape == (400, 12) and given.dtype == np.float32
    np.testing.assert_array_equal(present, mask(*LEAD_NAMES[:N_LIMB], "V5"))
    np.testing.assert_allclose(given[:, :N_LIMB], truth[:, :N_LIMB], atol=1e-5)
    np.testing.assert_array_equal(given[:, [6, 7, 8, 9, 11]], 0.0)


@pytest.mark.parametrize(
    ("signals", "present"),
    [
        (np.zeros((10, 11)), np.zeros(11)),
        (np.zeros((2, 10, 12)), np.zeros(12)),
        (np.zeros(12), np.zeros(12)),
    ],
)
def test_shapes_are_checked(signals: np.ndarray, present: np.ndarray) -> None:
    with pytest.raises(ValueError, match="expected leads"):
        complete_limb_leads(signals, present)


def test_masks_complete_as_the_signals_do() -> None:
    present = np.stack([mask("II", "V5"), mask("aVR", "aVF", "V1"), mask()])
    done = complete_mask(present)
    np.testing.assert_array_equal(done[0], present[0])
    np.testing.assert_array_equal(done[1], mask(*LEAD_NAMES[:N_LIMB], "V1"))
    np.testing.assert_array_equal(done[2], 0.0)
    np.testing.assert_array_equal(lead_mask(["V5", "II"]), present[0])
    signals = np.zeros((3, 10, 12))
    np.testing.assert_array_equal(complete_limb_leads(signals, present)[1], done)
