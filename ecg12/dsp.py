"""Signal helpers shared by conditioning, input checks and trust: filters, resampling, R peaks,
spectra and amplitude, in one place so those modules need not import each other.

Written with numpy alone. ``import scipy.signal`` loads most of scipy and costs ~1.6 s of CPU,
more than the rest of a one-file run; the few pieces used here (polyphase resampling, a
zero-phase Butterworth band-pass and mains notch, a peak finder) are short, and the tests hold
each to its scipy counterpart.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

import numpy as np

# --- resampling --------------------------------------------------------------------------------


def resample(x: np.ndarray, fs_in: float, fs_out: float, axis: int = 0) -> np.ndarray:
    """Resample with a polyphase FIR filter (anti-aliased, linear phase): what
    ``scipy.signal.resample_poly(x, up, down, axis)`` computes, to float rounding.

    The rate ratio is approximated by a fraction with denominator <= 1000, i.e. to within
    0.1 % for awkward rates such as 511.3 Hz.
    """
    if fs_in <= 0 or fs_out <= 0:
        raise ValueError(f"sampling rates must be positive, got {fs_in} -> {fs_out}")
    ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
    x = np.asarray(x, dtype=np.float64)
    if ratio == 1:
        return x.copy()
    up, down = ratio.numerator, ratio.denominator
    block, first, step = _block_filter(up, down)
    x = np.moveaxis(x, axis, -1)
    n = x.shape[-1]
    width, per_block = block.shape
    n_out = -(-n * up // down)
    blocks = -(-n_out // per_block)
    # Input i sits at padded[i - first]: zeros before the signal and after it.
    padded = np.zeros((*x.shape[:-1], (blocks - 1) * step + width))
    used = min(n, padded.shape[-1] + first)
    padded[..., -first : used - first] = x[..., :used]
    rows = np.lib.stride_tricks.sliding_window_view(padded, width, axis=-1)[..., ::step, :]
    out = (rows[..., :blocks, :] @ block).reshape(*x.shape[:-1], -1)[..., :n_out]
    return np.moveaxis(out, -1, axis)


@lru_cache(maxsize=8)
def _block_filter(up: int, down: int) -> tuple[np.ndarray, int, int]:
    """The anti-aliasing filter as one matrix for every block of ``step`` inputs (a multiple
    of ``down``, so that each block starts at the same filter phase): the block's outputs are
    its inputs, from ``first`` samples before its start, times the matrix.

    One matrix product per signal (BLAS) instead of one strided product per filter phase: 2-3x
    faster at every ratio tried, though the matrix holds the filter's zeros too.
    """
    h = _antialias(up, down) * up
    half = (len(h) - 1) // 2
    step = down * max(1, 32 // down)
    # Output j of a block is sum_i h[j * down + half - i * up] x[i], i counted from its start.
    outputs = np.arange(step * up // down)
    inputs = np.arange(-((len(h) - half) // up) - 1, (outputs[-1] * down + half) // up + 2)
    tap = outputs[None, :] * down + half - inputs[:, None] * up
    block = np.where((tap >= 0) & (tap < len(h)), h[np.clip(tap, 0, len(h) - 1)], 0.0)
    used = np.flatnonzero(block.any(axis=1))
    block = block[used[0] : used[-1] + 1]
    block.flags.writeable = False
    return block, int(inputs[used[0]]), step


def _antialias(up: int, down: int) -> np.ndarray:
    """The low-pass FIR ``resample_poly`` designs for up/down by default (``firwin``: a
    Kaiser-windowed sinc, beta 5, 10 taps per phase each side, cut-off at the lower Nyquist,
    unit gain at 0 Hz)."""
    rate = max(up, down)
    taps = 20 * rate + 1
    h = np.sinc((np.arange(taps) - (taps - 1) / 2) / rate) / rate * np.kaiser(taps, 5.0)
    return h / h.sum()


# --- zero-phase filters -----------------------------------------------------------------------

#: Samples of odd reflection added at each end before zero-phase filtering (the whole of a 10 s
#: record at 250 Hz), part of the conditioning the shipped models were trained with; beyond it an
#: extension goes on at its end value until the filter has settled, so edges carry no transient.
PAD_SAMPLES = 3600
#: A filter has forgotten a sample once its slowest pole has decayed to this fraction.
FORGET = 1e-12
#: The mains notch's quality factor (bandwidth = frequency / quality).
NOTCH_QUALITY = 30.0

#: A filter: ("band", highpass_hz, lowpass_hz or None, order) or ("notch", freq_hz, quality).
Design = tuple[str, float, float | None, int] | tuple[str, float, float]


def bandpass(
    x: np.ndarray,
    fs: float,
    highpass_hz: float,
    lowpass_hz: float | None,
    order: int = 2,
    axis: int = 0,
    pad: int = PAD_SAMPLES,
) -> np.ndarray:
    """Zero-phase Butterworth band-pass (high-pass only when ``lowpass_hz`` is None): what
    ``scipy.signal.sosfiltfilt(butter(order, ..., fs=fs, output="sos"), x, axis,
    padtype="odd", padlen=pad)`` computes, wherever its start-up transient has died out.

    The high-pass removes baseline wander; zero phase keeps ST segments and wave timing intact.
    """
    return _zero_phase(x, fs, ("band", highpass_hz, lowpass_hz, order), axis, pad)


def notch(
    x: np.ndarray, fs: float, freq_hz: float, quality: float = NOTCH_QUALITY, axis: int = 0
) -> np.ndarray:
    """Remove mains interference (50 or 60 Hz) with a zero-phase IIR notch (scipy's
    ``iirnotch``, run forwards and backwards); unchanged where ``freq_hz`` is above Nyquist."""
    x = np.asarray(x, dtype=np.float64)
    if freq_hz >= fs / 2:
        return x
    return _zero_phase(x, fs, ("notch", freq_hz, quality), axis, PAD_SAMPLES)


def _zero_phase(x: np.ndarray, fs: float, design: Design, axis: int, pad: int) -> np.ndarray:
    """``x`` filtered by |H|^2 of ``design`` (one pass forwards, one backwards) in the
    frequency domain, extended first by odd reflection of up to ``pad`` samples about each
    end and then by the extension's end value, until the filter has settled (at least
    :func:`settle_samples` each side), and cut back.

    Settled extensions make the result what a forward-backward IIR pass gives once its own
    start-up transient has died out, for short signals too, and keep the FFT's wrap-around
    from reaching the signal.
    """
    x = np.moveaxis(np.asarray(x, dtype=np.float64), axis, 0)
    n = x.shape[0]
    edge = min(n - 1, pad)
    reach = max(edge, _settle(fs, design))
    size = _fast_length(n + 2 * reach)
    ext = np.empty((size, *x.shape[1:]))
    ext[reach : reach + n] = x
    if edge > 0:  # odd reflection about each end
        ext[reach - edge : reach] = 2 * x[:1] - x[edge:0:-1]
        ext[reach + n : reach + n + edge] = 2 * x[-1:] - x[-2 : -(edge + 2) : -1]
    ext[: reach - edge] = ext[reach - edge]
    ext[reach + n + edge :] = ext[reach + n + edge - 1]
    gain = _gain(size, fs, design).reshape((-1,) + (1,) * (x.ndim - 1))
    y = np.fft.irfft(np.fft.rfft(ext, axis=0) * gain, size, axis=0)[reach : reach + n]
    return np.moveaxis(y, 0, axis)


@lru_cache(maxsize=32)
def _settle(fs: float, design: Design) -> int:
    """Samples until ``design``'s slowest pole has decayed to :data:`FORGET`."""
    kind, *params = design
    if kind == "band":
        radius = _butter_radius(fs, *params)
    else:  # the notch's poles: a conjugate pair at radius sqrt(a2)
        radius = math.sqrt(_notch_coefficients(fs, *params)[1][2])
    return math.ceil(math.log(FORGET) / math.log(radius))


@lru_cache(maxsize=32)
def _gain(size: int, fs: float, design: Design) -> np.ndarray:
    """|H|^2 of ``design`` at the frequencies of a ``size``-point real FFT, made once per
    length (records of one length share it); read-only."""
    f = np.fft.rfftfreq(size, 1 / fs)
    kind, *params = design
    gain = butter_power(f, fs, *params) if kind == "band" else notch_power(f, fs, *params)
    gain.flags.writeable = False
    return gain


@lru_cache(maxsize=256)
def _fast_length(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= n: FFT lengths numpy transforms fastest."""
    best = 1 << (n - 1).bit_length()
    fives = 1
    while fives < best:
        threes = fives
        while threes < best:
            m = threes
            while m < n:
                m *= 2
            best = min(best, m)
            threes *= 3
        fives *= 5
    return best


def butter_power(
    f: np.ndarray, fs: float, highpass_hz: float, lowpass_hz: float | None, order: int
) -> np.ndarray:
    """|H|^2 at ``f`` Hz of ``scipy.signal.butter(order, ..., fs=fs)``: the analog Butterworth
    response 1 / (1 + w^2n) at the bilinear transform's pre-warped frequencies."""
    warped = 2 * fs * np.tan(np.pi * np.asarray(f, dtype=np.float64) / fs)
    low = 2 * fs * math.tan(math.pi * highpass_hz / fs)
    with np.errstate(divide="ignore"):
        if lowpass_hz is None:  # high-pass: w -> low / w
            w = low / warped
        else:  # band-pass: w -> (w^2 - w0^2) / (w * bandwidth)
            high = 2 * fs * math.tan(math.pi * lowpass_hz / fs)
            w = (warped**2 - low * high) / (warped * (high - low))
    return 1.0 / (1.0 + w ** (2 * order))


def notch_power(
    f: np.ndarray, fs: float, freq_hz: float, quality: float = NOTCH_QUALITY
) -> np.ndarray:
    """|H|^2 at ``f`` Hz of ``scipy.signal.iirnotch(freq_hz, quality, fs)``."""
    b, a = _notch_coefficients(fs, freq_hz, quality)
    z = np.exp(-2j * np.pi * np.asarray(f, dtype=np.float64) / fs)
    return np.abs(np.polyval(b[::-1], z)) ** 2 / np.abs(np.polyval(a[::-1], z)) ** 2


def _notch_coefficients(fs: float, freq_hz: float, quality: float) -> tuple[np.ndarray, ...]:
    """The second-order notch's numerator and denominator (in powers of 1/z)."""
    w0 = 2 * math.pi * freq_hz / fs
    gain = 1.0 / (1.0 + math.tan(w0 / quality / 2))
    b = gain * np.array([1.0, -2.0 * math.cos(w0), 1.0])
    return b, np.array([1.0, -2.0 * gain * math.cos(w0), 2.0 * gain - 1.0])


def settle_samples(
    fs: float,
    highpass_hz: float,
    lowpass_hz: float | None,
    order: int = 2,
    notch_hz: float | None = None,
) -> int:
    """Samples after which the band-pass (and notch) have forgotten an input sample: the
    slowest pole's decay to :data:`FORGET`. A block conditioned with this margin on each side
    equals the same samples of the whole record."""
    band = _settle(fs, ("band", highpass_hz, lowpass_hz, order))
    if notch_hz is None or notch_hz >= fs / 2:
        return band
    return max(band, _settle(fs, ("notch", notch_hz, NOTCH_QUALITY)))


def _butter_radius(fs: float, highpass_hz: float, lowpass_hz: float | None, order: int) -> float:
    """The largest pole radius of ``scipy.signal.butter(order, ..., fs=fs)``: the analog
    prototype's poles moved to the band, then through the bilinear transform."""
    _check_band(fs, highpass_hz, lowpass_hz)
    prototype = np.exp(1j * np.pi * (2 * np.arange(order) + order + 1) / (2 * order))
    low = 2 * fs * math.tan(math.pi * highpass_hz / fs)
    if lowpass_hz is None:
        analog = low / prototype
    else:
        high = 2 * fs * math.tan(math.pi * lowpass_hz / fs)
        half = prototype * (high - low) / 2
        root = np.sqrt(half**2 - low * high)
        analog = np.concatenate((half + root, half - root))
    return float(np.max(np.abs((2 * fs + analog) / (2 * fs - analog))))


def _check_band(fs: float, highpass_hz: float, lowpass_hz: float | None) -> None:
    """Band edges a digital Butterworth can have: inside (0, Nyquist), in order."""
    top = fs / 2 if lowpass_hz is None else lowpass_hz
    if not (0 < highpass_hz < top and (lowpass_hz is None or lowpass_hz < fs / 2)):
        raise ValueError(f"band {highpass_hz}-{lowpass_hz} Hz is not inside 0-{fs / 2:g} Hz")


# --- peaks, spectra, amplitude ------------------------------------------------------------------


@lru_cache(maxsize=8)
def _hann(n: int) -> np.ndarray:
    """The periodic Hann window Welch's method uses."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def r_peaks(x: np.ndarray, fs: float) -> np.ndarray:
    """Sample indices of R peaks: maxima of the 5-30 Hz envelope, at least 0.3 s apart."""
    envelope = np.abs(bandpass(x, fs, 5.0, 30.0, pad=settle_samples(fs, 5.0, 30.0)))
    return find_peaks(envelope, 0.4 * percentiles(envelope, (99.0,))[0], int(0.3 * fs))


def find_peaks(x: np.ndarray, height: float, distance: int) -> np.ndarray:
    """``scipy.signal.find_peaks(x, height=height, distance=distance)[0]``: local maxima (the
    middle of a flat top) at least ``height`` high, the highest kept first where two are
    closer than ``distance`` samples."""
    if distance < 1:
        raise ValueError(f"distance must be at least 1 sample, got {distance}")
    x = np.asarray(x, dtype=np.float64)
    starts = np.flatnonzero(np.concatenate(([True], x[1:] != x[:-1])))  # runs of equal values
    ends = np.append(starts[1:], len(x)) - 1
    value = x[starts]
    top = np.flatnonzero((value[1:-1] > value[:-2]) & (value[1:-1] > value[2:])) + 1
    peaks = (starts[top] + ends[top]) // 2
    peaks = peaks[x[peaks] >= height]
    if len(peaks) < 2 or np.diff(peaks).min() >= distance:  # none too close: all stay
        return peaks
    at, keep = peaks.tolist(), [True] * len(peaks)  # plain lists: a few dozen peaks a record
    for j in np.argsort(x[peaks])[::-1].tolist():  # highest first, removing close neighbours
        if keep[j]:
            k = j - 1
            while k >= 0 and at[j] - at[k] < distance:
                keep[k], k = False, k - 1
            k = j + 1
            while k < len(at) and at[k] - at[j] < distance:
                keep[k], k = False, k + 1
    return peaks[np.array(keep)]


def band_ratio(x: np.ndarray, fs: float, lo: float, hi: float) -> float:
    """Share of the power above 0.5 Hz that lies in [lo, hi) Hz (Welch, 2 s segments).

    Baseline wander below 0.5 Hz is left out so that it neither hides nor fakes noise.
    """
    return band_ratios(x, fs, [(lo, hi)])[0]


def band_ratios(x: np.ndarray, fs: float, bands: list[tuple[float, float]]) -> list[float]:
    """:func:`band_ratio` of each band, from one spectrum."""
    f, power = welch_power(x, fs)
    total = power[f >= 0.5].sum()
    return [
        float(power[(f >= lo) & (f < hi)].sum() / total) if total > 0 else 0.0 for lo, hi in bands
    ]


def welch_power(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and power of ``scipy.signal.welch(x, fs, nperseg=min(len(x), 2 fs))`` up to
    a constant factor (ratios of band sums are all we take): the same Hann-windowed, mean-removed,
    half-overlapping segments, in a few numpy calls instead of scipy's general machinery, which
    costs ten times more on a ten-second record."""
    x = np.asarray(x, dtype=np.float64)
    n = min(x.size, int(2 * fs))
    segments = np.lib.stride_tricks.sliding_window_view(x, n)[:: n - n // 2]
    segments = segments - segments.mean(axis=1, keepdims=True)
    power = (np.abs(np.fft.rfft(segments * _hann(n), axis=1)) ** 2).mean(axis=0)
    power[1 : len(power) - (n % 2 == 0)] *= 2  # one-sided: all but 0 Hz and an even n's last
    return np.fft.rfftfreq(n, 1 / fs), power


def amplitude(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """p99 - p1 along the time ``axis``: the amplitude used throughout ecg12's fidelity figures."""
    p1, p99 = percentiles(x, (1.0, 99.0), axis)
    return p99 - p1


def percentiles(x: np.ndarray, q: tuple[float, ...], axis: int = 0) -> np.ndarray:
    """``np.percentile(x, list(q), axis)`` (its default linear interpolation, the same values
    to the bit) from one sort: numpy selects with ``partition``, which for two percentiles of
    twelve ten-second leads took 3x longer than sorting them (numpy sorts floats with SIMD)."""
    # Copied in C order first: np.sort of a transposed view (12 leads of a (samples, 12)
    # record) sorted each lead through a strided buffer, 1.6x slower.
    ordered = np.moveaxis(np.asarray(x), axis, -1).copy()
    ordered.sort(axis=-1)
    n = ordered.shape[-1]
    out = []
    for p in q:
        at = (n - 1) * (np.float64(p) / 100)
        lo = math.floor(at)
        t = at - lo  # float64, as numpy's weights: float32 values are interpolated in float64
        a, b = ordered[..., lo], ordered[..., min(lo + 1, n - 1)]
        step = b - a  # numpy's lerp, from whichever end is nearer
        out.append(a + step * t if t < 0.5 else b - step * (1 - t))
    return np.asarray(out, dtype=np.result_type(ordered.dtype, np.float64))


def median(x: np.ndarray) -> float:
    """``np.median`` of finite values, the same to the bit, from a sort: numpy selects with
    ``partition``, which took 3x longer on a ten-second lead."""
    ordered = np.sort(np.asarray(x).ravel())
    if ordered.size == 0:
        raise ValueError("median of an empty array")
    half = ordered.size // 2
    return float(ordered[half] if ordered.size % 2 else (ordered[half - 1] + ordered[half]) / 2)


def heart_rate(lead_i: np.ndarray, fs: float) -> float:
    """Beats per minute from Lead I's R peaks.

    Fast and slow rhythms are where reconstructions go wrong most: few training records have them.
    """
    return 60.0 * max(len(r_peaks(lead_i, fs)), 1) * fs / len(lead_i)
