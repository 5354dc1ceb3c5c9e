"""Preprocessing, windowing and lead algebra: the pure functions under the pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from ecg12.dsp import bandpass, notch, resample
from ecg12.inference import finish, infer
from ecg12.leads import LEAD_NAMES, derive_limb_leads, lead_index, to_standard_order
from ecg12.preprocess import PreprocessSpec, preprocess, to_millivolts
from ecg12.windows import crossfade_weights, overlap_spread, split, stitch, window_starts

SPEC = PreprocessSpec(fs=250.0, window=512, stride=256, highpass_hz=0.5, lowpass_hz=100.0)


def tone(freq: float, fs: float, seconds: float, amp: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * fs)) / fs
    return amp * np.sin(2 * np.pi * freq * t)


@pytest.mark.parametrize("fs_in", [100.0, 128.0, 250.0, 300.0, 360.0, 500.0, 512.0, 1000.0, 511.3])
def test_resample_keeps_in_band_tones_and_duration(fs_in: float) -> None:
    x = tone(5.0, fs_in, 10.0)
    y = resample(x, fs_in, 250.0)
    assert abs(len(y) - 2500) <= 3
    ref = tone(5.0, 250.0, len(y) / 250.0)
    core = slice(250, len(y) - 250)  # filter edges aside
    assert np.max(np.abs(y[core] - ref[core])) < 0.02


def test_bandpass_removes_baseline_wander_and_keeps_qrs_band() -> None:
    fs = 250.0
    wander, qrs = tone(0.1, fs, 20.0, amp=2.0), tone(10.0, fs, 20.0)
    y = bandpass(wander + qrs, fs, 0.5, 100.0)
    core = slice(500, -500)
    assert np.std(y[core] - qrs[core]) < 0.05
    assert np.std(bandpass(wander, fs, 0.5, 100.0)[core]) < 0.1 * np.std(wander)


def test_notch_removes_mains_only() -> None:
    fs = 500.0
    ecg_band, mains = tone(8.0, fs, 10.0), tone(50.0, fs, 10.0, amp=0.5)
    y = notch(ecg_band + mains, fs, 50.0)
    core = slice(500, -500)
    assert np.std(y[core] - ecg_band[core]) < 0.02


def test_preprocess_scales_and_inverts() -> None:
    spec = PreprocessSpec(
        fs=250.0, window=512, stride=256, highpass_hz=0.5, lowpass_hz=100.0, scale_mv=2.0
    )
    x = tone(7.0, 500.0, 10.0)
    y = preprocess(x, 500.0, spec)
    assert y.dtype == np.float32 and len(y) == 2500
    assert (
        np.max(np.abs(to_millivolts(y, spec)[300:-300] - tone(7.0, 250.0, 10.0)[300:-300])) < 0.03
    )


@pytest.mark.parametrize(
    "bad",
    [
        dict(stride=0),
        dict(stride=600),
        dict(lowpass_hz=200.0),
        dict(window=0),
        dict(fs=-1.0),
    ],
)
def test_spec_rejects_impossible_settings(bad: dict) -> None:
    args = SPEC.to_dict() | bad
    with pytest.raises(ValueError):
        PreprocessSpec(**args)


def test_window_starts_cover_the_end() -> None:
    assert window_starts(512, 512, 256).tolist() == [0]
    assert window_starts(1000, 512, 256).tolist() == [0, 256, 488]
    with pytest.raises(ValueError):
        window_starts(511, 512, 256)


@pytest.mark.parametrize("n", [512, 700, 2500, 75_001])
def test_stitch_is_exact_for_a_consistent_model(n: int) -> None:
    """Where windows agree (a linear, shift-invariant model), the cross-fade adds nothing."""
    x = np.random.default_rng(n).normal(size=n).astype(np.float32)
    windows = split(x, 512, 256)
    pred = np.stack([windows * (k + 1) for k in range(12)], axis=1)
    out = stitch(pred, n, 256)
    assert out.shape == (n, 12)
    np.testing.assert_allclose(out, x[:, None] * np.arange(1, 13), rtol=1e-5, atol=1e-5)


def test_crossfade_hands_over_smoothly() -> None:
    w = crossfade_weights(512, 256)
    assert np.all(w > 0) and w.max() <= 1.0
    # Overlapping ramps of neighbours sum to one: the hand-over has no bump.
    np.testing.assert_allclose(w[256:] + w[:256], 1.0, atol=1e-12)


def test_stitch_of_disagreeing_windows_has_no_step() -> None:
    n = 1024
    pred = np.stack([np.full((12, 512), float(i)) for i in range(len(window_starts(n, 512, 256)))])
    out = stitch(pred, n, 256)[:, 0]
    assert np.max(np.abs(np.diff(out))) < 0.02  # a ramp, not a jump of 1


def test_overlap_spread_measures_disagreement() -> None:
    """Windows that each add their own offset disagree by the offsets' difference."""
    n = 1024
    count = len(window_starts(n, 512, 256))
    pred = np.stack([np.full((12, 512), 0.1 * i) for i in range(count)])
    pred[:, 3] *= 2  # lead 3 disagrees twice as much
    spread = overlap_spread(pred, n, 256)
    np.testing.assert_allclose(spread[0], 0.1, rtol=1e-9)
    np.testing.assert_allclose(spread[3], 0.2, rtol=1e-9)


def test_limb_leads_obey_einthoven_and_goldberger() -> None:
    rng = np.random.default_rng(0)
    leads = derive_limb_leads(rng.normal(size=(100, 12)))
    i, ii, iii, avr, avl, avf = leads[:, :6].T
    np.testing.assert_allclose(iii, ii - i)
    np.testing.assert_allclose(avr + avl + avf, 0, atol=1e-12)
    np.testing.assert_allclose(avl, i - ii / 2)
    np.testing.assert_allclose(avf, ii - i / 2)


def test_lead_names_match_case_insensitively() -> None:
    assert lead_index("AVR") == lead_index("avr") == 3
    with pytest.raises(KeyError):
        lead_index("X")


def test_standard_order_from_other_layouts(shared_data) -> None:
    import wfdb

    rec = wfdb.rdrecord(str(shared_data / "fixtures/ptb-diagnostic/s0010_re"))  # i ii ... vz
    leads = to_standard_order(rec.p_signal, rec.sig_name)
    assert leads.shape == (rec.p_signal.shape[0], 12)
    np.testing.assert_allclose(
        leads[:, LEAD_NAMES.index("V6")], rec.p_signal[:, rec.sig_name.index("v6")]
    )
    # Only I and II: the chest leads are missing, which is an error.
    with pytest.raises(KeyError):
        to_standard_order(rec.p_signal[:, :2], ["I", "II"])


def test_infer_pools_records_and_finish_makes_consistent_mv() -> None:
    xs = [
        np.random.default_rng(s).normal(size=n).astype(np.float32)
        for s, n in [(1, 512), (2, 900), (3, 2500)]
    ]
    calls = []

    def predict(w: np.ndarray) -> np.ndarray:
        calls.append(len(w))
        return np.repeat(w[:, None, :], 12, axis=1) * 0.5

    raw = infer(xs, SPEC, predict, batch_size=4)
    assert [r.leads.shape for r in raw] == [(512, 12), (900, 12), (2500, 12)]
    assert sum(calls) == 1 + 3 + 9 and max(calls) == 4  # pooled across records
    # A shift-invariant model: overlapping windows agree exactly; one window has no overlap.
    np.testing.assert_allclose(raw[2].spread, 0.0, atol=1e-6)
    np.testing.assert_array_equal(raw[0].spread, np.zeros(12))
    out = finish(raw[2].leads, xs[2], SPEC)
    np.testing.assert_allclose(out[:, 0], xs[2])  # Lead I is the input itself
    np.testing.assert_allclose(out[:, 2], out[:, 1] - out[:, 0], atol=1e-6)


@pytest.mark.parametrize("fs, rate", [(250.0, 500.0), (500.0, 250.0), (250.0, 360.0)])
def test_to_rate_equals_resampling_all_twelve_leads(fs: float, rate: float) -> None:
    """to_rate resamples only I, II and V1-V6; the four other limb leads, derived from I and
    II afterwards, come out bit for bit as when all twelve were resampled."""
    from ecg12.pipeline import to_rate

    leads = np.random.default_rng(4).normal(size=(2500, 12)).astype(np.float32)
    whole = derive_limb_leads(resample(leads, fs, rate).astype(np.float32))
    for layout in (leads, np.asfortranarray(leads)):
        out = to_rate(layout, fs, rate)
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, whole)


@pytest.mark.parametrize("fs_in, fs_out", [(500, 250), (250, 500), (360, 250), (511.3, 250)])
def test_resample_is_resample_poly_with_its_own_filter(fs_in: float, fs_out: float) -> None:
    """resample designs resample_poly's default anti-aliasing filter once per ratio; the
    result is resample_poly's, bit for bit."""
    from fractions import Fraction

    from scipy import signal

    x = np.random.default_rng(6).normal(size=(3000, 3))
    ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
    want = signal.resample_poly(x, ratio.numerator, ratio.denominator, axis=0)
    for _ in range(2):  # the second call uses the stored design
        np.testing.assert_array_equal(resample(x, fs_in, fs_out), want)


def test_filter_designs_are_fresh_copies() -> None:
    """Designs are made once and handed out as copies: changing one changes no later filter."""
    from ecg12.dsp import band_sos, notch_sos

    first = band_sos(250.0, 0.5, 100.0, 2)
    first[:] = 0.0
    assert np.abs(band_sos(250.0, 0.5, 100.0, 2)).sum() > 0
    mains = notch_sos(250.0, 50.0)
    assert mains is not None and mains is not notch_sos(250.0, 50.0)
    assert notch_sos(80.0, 50.0) is None


@pytest.mark.parametrize("shape, axis", [((5000,), 0), ((5000, 3), 0), ((3, 7000), 1), ((2,), 0)])
def test_zero_phase_filter_is_scipys(shape: tuple[int, ...], axis: int) -> None:
    """The band-pass and notch give scipy's sosfiltfilt bit for bit, though the filter state is
    computed once per design (calls after the first use the stored one)."""
    from scipy import signal

    from ecg12.dsp import PAD_SAMPLES, band_sos, notch_sos

    x = np.random.default_rng(7).normal(size=shape).cumsum(axis=axis)
    pad = min(shape[axis] - 1, PAD_SAMPLES)
    for _ in range(2):
        for sos, got in [
            (band_sos(500.0, 0.5, 100.0, 2), bandpass(x, 500.0, 0.5, 100.0, axis=axis)),
            (band_sos(500.0, 5.0, 30.0, 2), bandpass(x, 500.0, 5.0, 30.0, axis=axis)),
            (band_sos(500.0, 0.5, None, 2), bandpass(x, 500.0, 0.5, None, axis=axis)),
            (notch_sos(500.0, 50.0), notch(x, 500.0, 50.0, axis=axis)),
        ]:
            want = signal.sosfiltfilt(sos, x, axis=axis, padtype="odd", padlen=pad)
            np.testing.assert_array_equal(got, want)
