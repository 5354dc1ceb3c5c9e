"""Generate the bundled example inputs: 30 s of synthetic ECG from the ECGSYN model, as Lead I
alone, as a Holter's two channels and as a six-lead device's limb leads.

McSharry, Clifford, Tarassenko and Smith, "A dynamical model for generating synthetic
electrocardiogram signals", IEEE Trans. Biomed. Eng. 50(3):289-294, 2003. A point circles the
unit limit cycle in the (x, y) plane once per beat; as it passes the angles of the P, Q, R, S and T
events, Gaussian "forces" push z, the ECG, up or down. The RR intervals follow the paper's
bimodal spectrum (Mayer waves at 0.1 Hz, respiratory sinus arrhythmia at 0.25 Hz), so the
rhythm varies like a real one, and z relaxes towards a respiratory baseline z0(t).

Nothing here is a recording of a person; the files say so. Run from the repository root:

    python examples/make_example.py [OUT_DIR]     # default: the examples/ folder itself

and it writes lead_i.hea/.dat (WFDB), lead_i.csv and apple_health_lead_i.csv (Lead I), then
holter_mlii_v5.hea/.dat (MLII and V5 at 360 Hz, format 212, as MIT-BIH stores them) and
six_lead.hea/.dat (I, II, III, aVR, aVL, aVF at 300 Hz, as a KardiaMobile 6L records them: I and
II measured, the other four computed from them). Other leads are the same beats (same seed, so
the same rhythm) seen from other directions: other heights of the P, Q, R, S and T waves. The
output is a pure function of the constants below (fixed seeds), so the committed files can be
checked.
"""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

import numpy as np
import wfdb

from ecg12.dsp import resample
from ecg12.leads import LIMB_BASIS

FS = 500.0
DURATION_S = 30.0
SEED = 20030301
HR_MEAN = 66.0  # beats per minute
HR_STD = 2.0  # beat-to-beat standard deviation, bpm
R_MV = 1.0  # R-wave height above the isoelectric line
WANDER_MV = 0.15  # respiratory baseline wander amplitude (the paper's A)
RESP_HZ = 0.25
NOISE_MV = 0.01
APPLE_FS = 512.0
HOLTER_FS = 360.0  # MIT-BIH's rate
SIX_LEAD_FS = 300.0  # KardiaMobile 6L's rate
OUT_DIR = Path(__file__).resolve().parent

# Table 1 of the paper: angle (rad), amplitude and width of the P, Q, R, S, T Gaussians.
WAVES = {
    "P": (-math.pi / 3, 1.2, 0.25),
    "Q": (-math.pi / 12, -5.0, 0.1),
    "R": (0.0, 30.0, 0.1),
    "S": (math.pi / 12, -7.5, 0.1),
    "T": (math.pi / 2, 0.75, 0.4),
}
# Lead II and V5 of a normal axis: a taller R, a P and T like Lead I's but larger, V5 with
# almost no S. (Gaussian amplitudes as in Table 1, scaled below so that R is the given height.)
WAVES_II = {**WAVES, "P": (-math.pi / 3, 1.6, 0.25), "S": (math.pi / 12, -4.0, 0.1)}
WAVES_V5 = {**WAVES, "Q": (-math.pi / 12, -3.0, 0.1), "S": (math.pi / 12, -2.5, 0.1)}
WAVES_V5["T"] = (math.pi / 2, 1.0, 0.4)
R_II_MV, R_V5_MV = 1.3, 1.6
COMMENTS = [
    "synthetic Lead I, not a recording of a person",
    "ECGSYN dynamical model (McSharry et al., IEEE TBME 50(3):289-294, 2003)",
    f"made by examples/make_example.py: {HR_MEAN:g}+/-{HR_STD:g} bpm, seed {SEED}",
]


def rr_tachogram(duration_s: float, rng: np.random.Generator, fs_rr: float = 2.0) -> np.ndarray:
    """RR intervals (s) sampled at ``fs_rr`` with the paper's two-Gaussian power spectrum.

    Spectrum: LF peak at 0.1 Hz and HF peak at 0.25 Hz (widths 0.01 Hz, LF/HF power 0.5); the
    series is the inverse FFT of its square root with random phases, scaled to the mean and
    standard deviation implied by HR_MEAN and HR_STD.
    """
    n = 2 ** math.ceil(math.log2(max(256, duration_s * fs_rr + 2)))
    f = np.fft.rfftfreq(n, d=1 / fs_rr)
    lf_hf, width = 0.5, 0.01
    # Each peak is a unit-area Gaussian times its power; the final rescaling fixes the units.
    spectrum = sum(
        power * np.exp(-((f - centre) ** 2) / (2 * width**2)) / math.sqrt(2 * math.pi * width**2)
        for centre, power in ((0.1, lf_hf / (1 + lf_hf)), (0.25, 1 / (1 + lf_hf)))
    )
    phases = rng.uniform(0.0, 2 * math.pi, size=f.size)
    series = np.fft.irfft(np.sqrt(spectrum) * np.exp(1j * phases), n=n)
    rr_mean = 60.0 / HR_MEAN
    rr_std = 60.0 * HR_STD / HR_MEAN**2
    return rr_mean + rr_std * (series - series.mean()) / series.std()


def ecgsyn(
    duration_s: float = DURATION_S,
    fs: float = FS,
    seed: int = SEED,
    waves_table: dict[str, tuple[float, float, float]] = WAVES,
    r_mv: float = R_MV,
    noise_seed: int | None = None,
) -> np.ndarray:
    """Lead I-like ECG in mV (another lead with ``waves_table`` and ``r_mv``), integrated with
    fourth-order Runge-Kutta at twice ``fs``.

    The z equation is linear, so z splits into the beat term (driven by the Gaussians) and the
    wander term (driven by z0); the beat term is scaled so that R is ``r_mv`` above the
    isoelectric line, which is the same as scaling the paper's a_i. ``seed`` sets the rhythm
    (and, unless ``noise_seed`` is given, the noise), so leads of one record share their beats.
    """
    rng = np.random.default_rng(seed)
    h = 1 / (2 * fs)
    steps = int(round(duration_s * fs)) * 2
    # As in ECGSYN, waves narrow and (in time) move closer to R as the heart rate rises.
    hr_fact = math.sqrt(HR_MEAN / 60)
    waves = [
        (
            theta * (1.0 if name == "R" else hr_fact if name in "QS" else math.sqrt(hr_fact)),
            a,
            b * hr_fact,
        )
        for name, (theta, a, b) in waves_table.items()
    ]
    rr = rr_tachogram(duration_s, rng)
    half_steps = np.arange(2 * steps + 1) * h / 2
    omega = (2 * math.pi / np.interp(half_steps, np.arange(rr.size) / 2.0, rr)).tolist()
    z0 = (WANDER_MV * np.sin(2 * math.pi * RESP_HZ * half_steps)).tolist()

    def deriv(state: tuple[float, ...], k: int) -> tuple[float, ...]:
        x, y, z_beat, z_wander = state
        alpha = 1.0 - math.hypot(x, y)
        theta = math.atan2(y, x)
        force = 0.0
        for theta_i, a_i, b_i in waves:
            d = (theta - theta_i + math.pi) % (2 * math.pi) - math.pi
            force -= a_i * d * math.exp(-d * d / (2 * b_i * b_i))
        w = omega[k]
        return (alpha * x - w * y, alpha * y + w * x, force - z_beat, z0[k] - z_wander)

    state = (-1.0, 0.0, 0.0, 0.0)
    out = np.empty((steps, 3))
    for i in range(steps):
        out[i] = (math.atan2(state[1], state[0]), state[2], state[3])
        k1 = deriv(state, 2 * i)
        k2 = deriv(tuple(s + h / 2 * d for s, d in zip(state, k1, strict=True)), 2 * i + 1)
        k3 = deriv(tuple(s + h / 2 * d for s, d in zip(state, k2, strict=True)), 2 * i + 1)
        k4 = deriv(tuple(s + h * d for s, d in zip(state, k3, strict=True)), 2 * i + 2)
        state = tuple(
            s + h / 6 * (a + 2 * b + 2 * c + d)
            for s, a, b, c, d in zip(state, k1, k2, k3, k4, strict=True)
        )
    theta, z_beat, z_wander = out[::2].T
    # Isoelectric level: the T-P stretch, well away from every wave.
    iso = np.median(z_beat[np.abs(theta) > 2.9])
    r_top = np.median(_beat_maxima(z_beat, theta))
    beat = (z_beat - iso) * (r_mv / (r_top - iso))
    noise = rng if noise_seed is None else np.random.default_rng(noise_seed)
    return beat + z_wander + noise.normal(0.0, NOISE_MV, size=beat.size)


def _beat_maxima(z: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Maximum of z around each R event (|theta| < 0.3 rad)."""
    near_r = np.abs(theta) < 0.3
    edges = np.flatnonzero(np.diff(near_r.astype(np.int8)))
    bounds = np.concatenate([[0], edges + 1, [z.size]])
    return np.array(
        [z[a:b].max() for a, b in zip(bounds[:-1], bounds[1:], strict=True) if near_r[a]]
    )


def write_examples(out_dir: Path = OUT_DIR) -> list[Path]:
    """Write the example in WFDB, plain CSV and Apple Health CSV form; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    microvolts = np.round(ecgsyn() * 1000).astype(np.int16)  # 1 uV resolution, like the .dat
    wfdb.wrsamp(
        "lead_i",
        fs=FS,
        units=["mV"],
        sig_name=["I"],
        d_signal=microvolts[:, None],
        fmt=["16"],
        adc_gain=[1000.0],
        baseline=[0],
        comments=COMMENTS,
        write_dir=str(out_dir),
    )
    plain = out_dir / "lead_i.csv"
    with open(plain, "w", encoding="utf-8", newline="") as fh:
        fh.write("time_s,I\n")
        fh.writelines(f"{i / FS:.3f},{v / 1000:.3f}\n" for i, v in enumerate(microvolts))
    apple = out_dir / "apple_health_lead_i.csv"
    at_512 = resample(microvolts.astype(np.float64), FS, APPLE_FS)
    with open(apple, "w", encoding="utf-8", newline="") as fh:
        meta = csv.writer(fh, lineterminator="\n")
        meta.writerows(
            [
                ["Name", "Synthetic ECGSYN example (not a person)"],
                ["Date of Birth", "Jan 1, 1970"],
                ["Recorded Date", "2024-01-01 09:00:00 +0000"],
                ["Classification", "Sinus Rhythm"],
                ["Symptoms", ""],
                ["Software Version", "ecg12 examples/make_example.py"],
                ["Device", "synthetic (ECGSYN)"],
                ["Sample Rate", f"{APPLE_FS:g} hertz"],
                [],
                [],
                ["Lead", "Lead I"],
                ["Unit", "µV"],
                [],
            ]
        )
        # Whole microvolts: the source has 1 uV resolution, so decimals would only add bytes.
        fh.writelines(f"{v}\n" for v in np.round(at_512).astype(np.int64))
    return [
        out_dir / "lead_i.hea",
        out_dir / "lead_i.dat",
        plain,
        apple,
        *write_holter(out_dir),
        *write_six_lead(out_dir),
    ]


def write_holter(out_dir: Path = OUT_DIR) -> list[Path]:
    """A MIT-BIH-like Holter record: MLII and V5 at 360 Hz, format 212, 200 units per mV."""
    mlii = ecgsyn(fs=HOLTER_FS, waves_table=WAVES_II, r_mv=R_II_MV, noise_seed=SEED + 2)
    v5 = ecgsyn(fs=HOLTER_FS, waves_table=WAVES_V5, r_mv=R_V5_MV, noise_seed=SEED + 5)
    counts = np.round(np.stack([mlii, v5], axis=1) * 200).astype(np.int64) + 1024
    wfdb.wrsamp(
        "holter_mlii_v5",
        fs=HOLTER_FS,
        units=["mV", "mV"],
        sig_name=["MLII", "V5"],
        d_signal=counts,
        fmt=["212", "212"],
        adc_gain=[200.0, 200.0],
        baseline=[1024, 1024],
        comments=[
            "synthetic Holter channels MLII and V5, not a recording of a person",
            *COMMENTS[1:],
        ],
        write_dir=str(out_dir),
    )
    return [out_dir / "holter_mlii_v5.hea", out_dir / "holter_mlii_v5.dat"]


def write_six_lead(out_dir: Path = OUT_DIR) -> list[Path]:
    """A six-lead record as a KardiaMobile 6L makes one: I and II measured, III, aVR, aVL and
    aVF computed from them (Einthoven, Goldberger), all at 300 Hz with 1 uV resolution."""
    lead_i = ecgsyn(fs=SIX_LEAD_FS)
    lead_ii = ecgsyn(fs=SIX_LEAD_FS, waves_table=WAVES_II, r_mv=R_II_MV, noise_seed=SEED + 2)
    limb = np.stack([lead_i, lead_ii], axis=1) @ LIMB_BASIS.T
    wfdb.wrsamp(
        "six_lead",
        fs=SIX_LEAD_FS,
        units=["mV"] * 6,
        sig_name=["I", "II", "III", "aVR", "aVL", "aVF"],
        d_signal=np.round(limb * 1000).astype(np.int64),
        fmt=["16"] * 6,
        adc_gain=[1000.0] * 6,
        baseline=[0] * 6,
        comments=[
            "synthetic six-lead ECG (limb leads), not a recording of a person",
            *COMMENTS[1:],
        ],
        write_dir=str(out_dir),
    )
    return [out_dir / "six_lead.hea", out_dir / "six_lead.dat"]


if __name__ == "__main__":
    for path in write_examples(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT_DIR):
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
