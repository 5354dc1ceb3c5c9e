"""Preprocessing, windowing and lead algebra: the pure functions under the pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from ecg12.dsp import bandpass, notch, resample
from ecg12.inference import finish, infer, predict_windows, stitch_windows
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
    mine = rng.normal(size=(3, 100, 12)).astype(np.float32)  # a batch, rebuilt where it lies
    want = derive_limb_leads(mine)
    assert derive_limb_leads(mine, copy=False) is mine
    np.testing.assert_array_equal(mine, want)


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


def test_pooled_window_predictions_are_each_records_own() -> None:
    """predict_windows hands each record exactly its own windows' predictions, in order, from
    batches that cut across records; stitching them apart gives what infer gives."""
    xs = [
        np.random.default_rng(s).normal(size=n).astype(np.float32) for s, n in [(1, 700), (2, 2500)]
    ]

    def predict(w: np.ndarray) -> np.ndarray:
        return np.stack([w * (k + 1) for k in range(12)], axis=1)

    windows = predict_windows(xs, SPEC, predict, batch_size=3)
    for x, w in zip(xs, windows, strict=True):
        np.testing.assert_array_equal(w, predict(split(x, SPEC.window, SPEC.stride)))
    whole = infer(xs, SPEC, predict, batch_size=3)
    for x, w, stitched in zip(xs, windows, whole, strict=True):
        alone = stitch_windows(w, len(x), SPEC)
        np.testing.assert_array_equal(alone.leads, stitched.leads)
        np.testing.assert_array_equal(alone.spread, stitched.spread)


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


@pytest.mark.parametrize(
    "fs_in, fs_out",
    [(500, 250), (250, 500), (360, 250), (511.3, 250), (128, 250), (100, 250), (250, 1000)]
    + [(512, 250), (250, 360), (8000, 250)],
)
def test_resample_is_resample_poly(fs_in: float, fs_out: float) -> None:
    """resample computes what scipy's resample_poly does with its default anti-aliasing
    filter, to float rounding, along either axis."""
    from fractions import Fraction

    from scipy import signal

    x = np.random.default_rng(6).normal(size=(3000, 3)).cumsum(axis=0)
    ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
    want = signal.resample_poly(x, ratio.numerator, ratio.denominator, axis=0)
    for _ in range(2):  # the second call uses the stored design
        np.testing.assert_allclose(resample(x, fs_in, fs_out), want, rtol=0, atol=1e-11)
    np.testing.assert_allclose(resample(x.T, fs_in, fs_out, axis=1), want.T, rtol=0, atol=1e-11)
    np.testing.assert_allclose(resample(x[:, 0], fs_in, fs_out), want[:, 0], rtol=0, atol=1e-11)


@pytest.mark.parametrize("n", [1, 2, 3, 17, 31, 33, 100])
def test_resample_of_short_signals_is_resample_poly(n: int) -> None:
    """Signals shorter than the filter, or than one block of it, still come out as scipy's."""
    from scipy import signal

    x = np.random.default_rng(n).normal(size=(n, 2))
    for fs_in, fs_out, up, down in [(250, 500, 2, 1), (500, 250, 1, 2), (360, 250, 25, 36)]:
        want = signal.resample_poly(x, up, down, axis=0)
        np.testing.assert_allclose(resample(x, fs_in, fs_out), want, rtol=0, atol=1e-12)


def test_percentiles_are_numpys_to_the_bit() -> None:
    """One sort gives what np.percentile's selection gives, for either float type, with ties,
    along either axis."""
    from ecg12.dsp import amplitude, percentiles

    rng = np.random.default_rng(11)
    q = (0.0, 1.0, 37.5, 50.0, 99.0, 100.0)
    for trial in range(200):
        n, leads = int(rng.integers(1, 3000)), int(rng.integers(1, 13))
        x = rng.normal(size=(n, leads)).astype((np.float32, np.float64)[trial % 2])
        if trial % 3 == 0:
            x = np.round(x, 1)  # many ties
        for axis in (0, 1):
            got, want = percentiles(x, q, axis), np.percentile(x, q, axis=axis)
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(
            amplitude(x[:, 0]), np.subtract(*np.percentile(x[:, 0], [99, 1]))
        )


def test_median_is_numpys_to_the_bit() -> None:
    """Odd and even lengths (the mean of the middle two), either float type, with ties."""
    from ecg12.dsp import median

    rng = np.random.default_rng(12)
    for trial in range(300):
        x = rng.normal(size=int(rng.integers(1, 400))).astype((np.float32, np.float64)[trial % 2])
        if trial % 3 == 0:
            x = np.round(x, 1)
        assert median(x) == float(np.median(x))
    with pytest.raises(ValueError, match="empty"):
        median(np.array([]))


def _butter_sos(fs: float, low: float, high: float | None) -> np.ndarray:
    from scipy import signal

    if high is None:
        return signal.butter(2, low, btype="highpass", fs=fs, output="sos")
    return signal.butter(2, [low, high], btype="bandpass", fs=fs, output="sos")


@pytest.mark.parametrize("shape, axis", [((20000,), 0), ((20000, 3), 0), ((3, 20000), 1)])
def test_zero_phase_filters_are_scipys_where_it_has_settled(
    shape: tuple[int, ...], axis: int
) -> None:
    """The band-pass and notch give scipy's sosfiltfilt (odd padding) on a record long enough
    for its start-up transient to die out."""
    from scipy import signal

    from ecg12.dsp import PAD_SAMPLES

    x = np.random.default_rng(7).normal(size=shape).cumsum(axis=axis)
    for fs, low, high in [(250.0, 0.5, 100.0), (500.0, 5.0, 30.0), (250.0, 0.5, None)]:
        want = signal.sosfiltfilt(_butter_sos(fs, low, high), x, axis, padlen=PAD_SAMPLES)
        got = bandpass(x, fs, low, high, axis=axis)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 * np.abs(x).max())
    b, a = signal.iirnotch(50.0, 30.0, fs=250.0)
    want = signal.filtfilt(b, a, x, axis, padlen=PAD_SAMPLES)
    got = notch(x, 250.0, 50.0, axis=axis)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 * np.abs(x).max())


@pytest.mark.parametrize("n", [2, 40, 600, 2500])
def test_short_signals_get_the_settled_filter(n: int) -> None:
    """A signal shorter than the filter's memory is filtered as if its odd reflections went
    on at their end values long enough for any IIR start-up transient to die out: scipy's
    sosfiltfilt of that extension, cut back."""
    from scipy import signal

    from ecg12.dsp import settle_samples

    x = np.random.default_rng(8).normal(size=n).cumsum()
    edge = min(n - 1, 3600)
    head = 2 * x[0] - x[edge:0:-1] if edge else x[:0]
    tail = 2 * x[-1] - x[-2 : -(edge + 2) : -1] if edge else x[:0]
    far = 3 * settle_samples(250.0, 0.5, 100.0)  # scipy's transient dies in the constant part
    left = np.full(far, head[0] if edge else x[0])
    right = np.full(far, tail[-1] if edge else x[-1])
    extended = np.concatenate((left, head, x, tail, right))
    want = signal.sosfiltfilt(_butter_sos(250.0, 0.5, 100.0), extended, padlen=0)
    want = want[far + edge : far + edge + n]
    np.testing.assert_allclose(bandpass(x, 250.0, 0.5, 100.0), want, rtol=0, atol=1e-9)


def test_filter_responses_and_memory_are_scipys() -> None:
    """|H|^2 of the Butterworth and notch designs, and the samples until their slowest pole
    decays to FORGET, are those of scipy's designs."""
    from scipy import signal

    from ecg12.dsp import FORGET, butter_power, notch_power, settle_samples

    for fs, low, high in [(250.0, 0.5, 100.0), (500.0, 5.0, 30.0), (100.0, 5.0, 30.0)] + [
        (500.0, 0.5, None),
        (1000.0, 0.5, 40.0),
    ]:
        sos = _butter_sos(fs, low, high)
        f = np.linspace(0.0, fs / 2, 101)
        want = np.abs(signal.sosfreqz(sos, f, fs=fs)[1]) ** 2
        np.testing.assert_allclose(butter_power(f, fs, low, high, 2), want, rtol=0, atol=1e-12)
        radius = max(np.abs(np.roots(row[3:])).max() for row in sos)
        assert settle_samples(fs, low, high) == np.ceil(np.log(FORGET) / np.log(radius))
    b, a = signal.iirnotch(60.0, 30.0, fs=360.0)
    f = np.linspace(0.0, 180.0, 101)
    want = np.abs(signal.freqz(b, a, f, fs=360.0)[1]) ** 2
    np.testing.assert_allclose(notch_power(f, 360.0, 60.0), want, rtol=0, atol=1e-12)
    slow = np.ceil(np.log(FORGET) / np.log(np.abs(np.roots(a)).max()))
    assert settle_samples(360.0, 20.0, 150.0, notch_hz=60.0) == max(
        slow, settle_samples(360.0, 20.0, 150.0)
    )
    with pytest.raises(ValueError, match="not inside"):
        bandpass(np.zeros(100), 100.0, 5.0, 60.0)


def test_find_peaks_is_scipys() -> None:
    """Local maxima (the middle of a flat top), height and distance rules as scipy applies
    them, on signals with many ties and plateaus."""
    from scipy import signal

    from ecg12.dsp import find_peaks

    rng = np.random.default_rng(9)
    for _ in range(100):
        x = np.round(rng.normal(size=int(rng.integers(3, 2000))), int(rng.integers(0, 3)))
        height, distance = float(np.percentile(x, 40)), int(rng.integers(1, 60))
        want = signal.find_peaks(x, height=height, distance=distance)[0]
        np.testing.assert_array_equal(find_peaks(x, height, distance), want)


def test_reconstructing_does_not_import_scipy_signal(tmp_path) -> None:
    """A whole reconstruction, file to file, runs without scipy.signal, whose import alone
    costs more CPU than the rest of a one-file run."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, ecg12\n"
        "t = np.arange(5000) / 500\n"
        "x = np.sin(2 * np.pi * 1.2 * t) ** 63\n"
        "r = ecg12.reconstruct(x, fs=500.0, notch_hz=50, out_fs=360)\n"
        f"r.write({str(tmp_path)!r})\n"
        "print(sorted(m for m in sys.modules if m.startswith('scipy')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".dat", ".hea"]
