"""The any-lead model (``ekgan-any``): whichever leads a device recorded in, 12 leads out.

EKGAN's inference generator on a two-channel image of 16 rows: channel 0 holds each given lead
in its own row and, in the rows of leads not given, the first given lead (standard order);
channel 1 is 1 in the rows of given leads. For Lead I alone channel 0 is exactly EKGAN's input
(Lead I in every row), so a trained EKGAN starts the model with channel 1's kernel at zero
(:func:`widen`), and every other input set is learnt from there.

Training draws one input set per window (:data:`TRAIN_SETS`); two or more limb leads determine
all six, so sets are completed as the runtime completes them
(:func:`ecg12.leads.complete_mask`). The loss sees
only the rows that were not given: the runtime passes given leads through unchanged.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from ecg12.leads import LEAD_NAMES, assemble_given, complete_mask, lead_mask
from ecg12.trust import inputs_key
from training import ekgan

LIMB = LEAD_NAMES[:6]

#: Input sets scored every epoch and on the results page: one lead of each device kind, the
#: six limb leads (from I + II), limb + one chest lead, and a Holter's two channels.
EVAL_SETS: tuple[tuple[str, ...], ...] = (
    ("I",),
    ("II",),
    ("V1",),
    ("V5",),
    ("II", "V5"),
    LIMB,
    (*LIMB, "V2"),
)


def mask(names: tuple[str, ...] | list[str]) -> np.ndarray:
    """(12,) float32 presence mask of lead ``names``, limb leads completed."""
    return complete_mask(lead_mask(names))


def set_name(present: np.ndarray) -> str:
    """``I+II+III+aVR+aVL+aVF``: a completed presence mask as ``trust_by_inputs`` keys it."""
    return inputs_key([n for n, p in zip(LEAD_NAMES, present, strict=True) if p > 0])


def draw_sets(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 12) presence masks for training windows.

    A third single leads (Lead I most often: the wearables' lead, and the set that must stay
    as good as ``ekgan``), a quarter the six limb leads, a sixth limb + one chest lead, a
    tenth one limb + one chest lead (Holters, patches) and the rest any subset of the eight
    independent leads.
    """
    kind = rng.choice(5, size=n, p=[0.34, 0.25, 0.16, 0.10, 0.15])
    out = np.zeros((n, 12), np.float32)
    single_p = np.array([0.4, 0.15] + [0.025] * 4 + [0.05] * 6)
    for k in range(n):
        if kind[k] == 0:
            out[k, rng.choice(12, p=single_p / single_p.sum())] = 1
        elif kind[k] == 1:
            out[k, :6] = 1
        elif kind[k] == 2:
            out[k, :6] = 1
            out[k, 6 + rng.integers(6)] = 1
        elif kind[k] == 3:
            out[k, rng.integers(6)] = 1
            out[k, 6 + rng.integers(6)] = 1
        else:
            chosen = rng.random(8) < 0.5
            chosen[rng.integers(8)] = True
            out[k, [0, 1, 6, 7, 8, 9, 10, 11]] = chosen
    return complete_mask(out)


def given(leads: np.ndarray, present: np.ndarray) -> np.ndarray:
    """(n, window, 12) leads and (n, 12) masks -> the model's ``given`` (n, 12, window), zero
    where not given."""
    return np.ascontiguousarray(np.transpose(leads, (0, 2, 1)) * present[:, :, None])


def to_image(given: keras.KerasTensor, present: keras.KerasTensor) -> keras.KerasTensor:
    """(batch, 12, window), (batch, 12) -> (batch, 16, window, 2) as the module doc says."""
    # The first given row: where the running count of given rows is 1 (arithmetic, not a
    # comparison, so a float16 export keeps no boolean casts).
    first = present * ops.relu(1.0 - ops.abs(ops.cumsum(present, axis=1) - 1.0))
    fill = ops.sum(given * ops.expand_dims(first, -1), axis=1, keepdims=True)
    rows = ops.expand_dims(present, -1)
    leads = given * rows + fill * (1.0 - rows)
    flags = ops.zeros_like(given) + rows
    image = ops.stack([leads, flags], axis=-1)
    return ops.pad(image, ((0, 0), (ekgan.PAD, ekgan.PAD), (0, 0), (0, 0)))


def widen(source: keras.Model, target: keras.Model) -> None:
    """Copy a one-channel IG's weights into an any-lead IG: the flags channel's input kernel
    starts at zero, so the new model starts as the old one on every input."""
    for s, t in zip(source.weights, target.weights, strict=True):
        value = keras.ops.convert_to_numpy(s.value)
        if tuple(t.shape) != value.shape:  # the first convolution's kernel: (2, 4, 1 -> 2, 64)
            value = np.concatenate([value, np.zeros_like(value)], axis=2)
        t.assign(value)


def contract_model(generator: keras.Model, width: int = 512) -> keras.Model:
    """The any-lead ecg12 contract: ``given`` (batch, 12, window) and ``present`` (batch, 12)
    -> ``leads`` (batch, 12, window)."""
    leads_in = keras.Input((12, width), name="given")
    present = keras.Input((12,), name="present")
    image = ekgan.generate(generator, to_image(leads_in, present))
    out = layers.Identity(name="leads")(ekgan.image_to_leads(image))
    return keras.Model([leads_in, present], out, name="ekgan_any_contract")


def reconstruct(predict, real: np.ndarray, present: np.ndarray, spec) -> np.ndarray:
    """(records, samples, 12) conditioned leads in mV, given as ``present`` says -> 12 leads in
    mV through the runtime's own windows, stitching and assembly (given leads passed through,
    limb leads consistent). ``predict(given, present)`` is the model on a batch of windows.
    """
    from ecg12.inference import finish, infer

    given = [x / spec.scale_mv * present for x in real]
    raw = infer(given, spec, predict, present=[present] * len(given))
    return np.stack([finish(r.leads, g, spec, present) for r, g in zip(raw, given, strict=True)])


def evaluate(predict, real: np.ndarray, spec, sets=EVAL_SETS) -> dict:
    """Fold scores per input set over the leads each set leaves to estimate, and their means
    (``mean_r`` etc., what selection reads)."""
    from training import metrics
    from training.train import SUMMARY

    scores, per_set = {}, {}
    for names in sets:
        present = mask(names)
        estimated = tuple(n for n, p in zip(LEAD_NAMES, present, strict=True) if not p)
        rec = reconstruct(predict, real, present, spec)
        s = metrics.score(real, rec, spec.fs, estimated)
        per_set[set_name(present)] = {k: v for k, v in s.items() if k != "record_mae_mv"}
    for key in (*SUMMARY, "v1_v6_r"):
        scores[key] = float(np.nanmean([s[key] for s in per_set.values()]))
    scores["records"] = int(real.shape[0])
    scores["per_set"] = per_set
    return scores


#: The linear floor's FIR length at the cache's 250 Hz: +-100 ms, as the Lead I floor's.
FLOOR_TAPS = 51


def floor_inputs(present: np.ndarray) -> list[int]:
    """Columns a linear floor regresses on: I and II for a complete limb set (the other four
    are their combinations), else the given limb lead, plus every given chest lead."""
    limb = [i for i in range(6) if present[i]]
    basis = [0, 1] if len(limb) >= 2 else limb
    return basis + [i for i in range(6, 12) if present[i]]


def fit_floor(records: np.ndarray, present: np.ndarray, taps: int = FLOOR_TAPS) -> np.ndarray:
    """The linear floor of an input set: least-squares FIR filters from its given leads to all
    12, fitted on ``records`` (n, samples, 12) mV -> (12, inputs * taps)."""
    from training.linear import fit_fir

    cols = floor_inputs(present)
    return fit_fir(((r[:, cols], r) for r in records), taps, every=4)


def apply_floor(real: np.ndarray, present: np.ndarray, fir: np.ndarray) -> np.ndarray:
    """(records, samples, 12) mV -> the floor's 12 leads, given leads passed through."""
    from training.linear import lagged

    cols = floor_inputs(present)
    half = fir.shape[1] // len(cols) // 2
    out = np.stack(
        [lagged(np.pad(r[:, cols], ((half, half), (0, 0))), 2 * half + 1) @ fir.T for r in real]
    )
    return assemble_given(out.astype(np.float32), real, np.broadcast_to(present, (len(real), 12)))
