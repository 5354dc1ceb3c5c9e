"""Lead names, the limb-lead identities (Einthoven and Goldberger) and assembling 12 leads around
the leads a recording gave.

The functions here take leads on the last axis, ``(..., samples, 12)`` in standard order, with a
presence mask ``(..., 12)`` (1 for a lead given, 0 otherwise) where one is needed, so training
applies them to batches exactly as the runtime applies them to one record.
"""

from __future__ import annotations

import numpy as np

LEAD_NAMES: tuple[str, ...] = (
    "I",
    "II",
    "III",
    "aVR",
    "aVL",
    "aVF",
    "V1",
    "V2",
    "V3",
    "V4",
    "V5",
    "V6",
)
#: Leads a model must predict; III, aVR, aVL and aVF follow from I and II.
INDEPENDENT_LEADS: tuple[str, ...] = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
#: The six limb leads come first in the standard order.
N_LIMB = 6
#: Each limb lead as (a, b) in a x I + b x II: I, II, III = II - I, aVR = -(I + II) / 2,
#: aVL = I - II / 2, aVF = II - I / 2. Any two rows are independent (the hexaxial directions).
LIMB_BASIS = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 1.0], [-0.5, -0.5], [1.0, -0.5], [-0.5, 1.0]])


def lead_index(name: str) -> int:
    """Index of a lead in the standard order, matched case-insensitively (``AVR`` is ``aVR``)."""
    lowered = [n.lower() for n in LEAD_NAMES]
    try:
        return lowered.index(name.strip().lower())
    except ValueError:
        raise KeyError(f"unknown lead {name!r}; expected one of {', '.join(LEAD_NAMES)}") from None


def derive_limb_leads(leads: np.ndarray, copy: bool = True) -> np.ndarray:
    """Return a copy of ``leads`` (samples x 12, or a batch of them: ``(..., samples, 12)``) with
    III, aVR, aVL, aVF rebuilt from I and II; ``copy=False`` rebuilds them in ``leads`` itself
    (a float array the caller owns), which saves a pass over the record.

    A model predicts all twelve rows, but only I and II carry independent limb information;
    recomputing the other four makes the output obey Einthoven's and Goldberger's laws exactly.
    """
    if leads.ndim < 2 or leads.shape[-1] != 12:
        raise ValueError(f"expected samples x 12 leads, got shape {leads.shape}")
    out = leads.copy() if copy else leads
    lead_i, lead_ii = out[..., 0], out[..., 1]
    out[..., 2] = lead_ii - lead_i
    out[..., 3] = -(lead_i + lead_ii) / 2
    out[..., 4] = lead_i - lead_ii / 2
    out[..., 5] = lead_ii - lead_i / 2
    return out


def complete_limb_leads(signals: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where two or more limb leads are given, all six are determined: return copies of
    ``signals`` (..., samples, 12) and ``present`` (..., 12) with I and II fitted to the given
    limb leads by least squares, the other four derived from them and all six marked present.

    Consistent inputs (a six-lead device) come back unchanged up to rounding; inconsistent ones
    (limb leads recorded with separate amplifiers) are made consistent with the least change.
    Records with fewer than two limb leads are returned as they are.
    """
    signals, mask = _leads_and_mask(signals, present)
    full = mask[..., :N_LIMB].sum(axis=-1) >= 2  # (...)
    out, done = signals.copy(), complete_mask(mask)
    if not full.any():
        return out, done
    weights = np.where(full[..., None], mask[..., :N_LIMB], False).astype(np.float64)
    gram = np.einsum("kj,...k,kl->...jl", LIMB_BASIS, weights, LIMB_BASIS)
    gram = np.where(full[..., None, None], gram, np.eye(2))  # the others: anything invertible
    rhs = np.einsum("kj,...k,...tk->...tj", LIMB_BASIS, weights, signals[..., :N_LIMB])
    fitted = np.einsum("...jl,...tl->...tj", np.linalg.inv(gram), rhs)
    limb = _limb_from(fitted, signals)
    out[..., :N_LIMB] = np.where(full[..., None, None], limb, signals[..., :N_LIMB])
    return out, done


def lead_mask(leads: tuple[str, ...] | list[str]) -> np.ndarray:
    """The (12,) float32 mask of ``leads``: 1 where given, 0 elsewhere."""
    present = np.zeros(len(LEAD_NAMES), dtype=np.float32)
    present[[lead_index(name) for name in leads]] = 1.0
    return present


def complete_mask(present: np.ndarray) -> np.ndarray:
    """Masks (..., 12) with all six limb leads marked where two or more are (float32): the
    leads an any-lead model is given, as :func:`complete_limb_leads` completes them."""
    done = np.asarray(present, dtype=np.float32).copy()
    done[(done[..., :N_LIMB] > 0).sum(axis=-1) >= 2, :N_LIMB] = 1.0
    return done


def place_leads(
    signals: np.ndarray, leads: tuple[str, ...] | list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Leads (samples, k) named ``leads`` -> the 12 standard rows (samples, 12), zero where not
    given, and their mask (12,), limb leads completed (:func:`complete_limb_leads`): what an
    any-lead model is given."""
    given = np.zeros((signals.shape[0], len(LEAD_NAMES)), dtype=np.float32)
    given[:, [lead_index(name) for name in leads]] = signals
    return complete_limb_leads(given, lead_mask(leads))


def assemble_given(pred: np.ndarray, given: np.ndarray, present: np.ndarray) -> np.ndarray:
    """A model's 12 leads (..., samples, 12) around the leads that were ``given`` (same shape,
    ``present`` (..., 12) marks them): a copy with the given chest leads passed through and the
    limb leads consistent (Einthoven, Goldberger) with whatever limb leads were given.

    Limb leads: with two or more given, all six come from the given ones
    (:func:`complete_limb_leads`); with exactly one given, L = a x I + b x II, the model's
    (I, II) are moved the least distance that makes a x I + b x II equal L, so L passes through;
    with none, III, aVR, aVL and aVF are derived from the model's I and II.
    """
    given, mask = _leads_and_mask(given, present)
    given, mask = complete_limb_leads(given, mask)
    limb = mask[..., :N_LIMB].astype(np.float64)
    pred = np.asarray(pred)
    if pred.shape != given.shape:
        raise ValueError(f"prediction {pred.shape} and given leads {given.shape} differ")
    out = pred.copy()
    out[..., N_LIMB:] = np.where(
        mask[..., None, N_LIMB:] > 0, given[..., N_LIMB:], pred[..., N_LIMB:]
    )
    count = limb.sum(axis=-1)  # (...): 0, 1 or 6 once completed
    v = limb @ LIMB_BASIS  # (..., 2): the one given limb lead's (a, b)
    norm = np.where(count == 1, np.einsum("...j,...j->...", v, v), 1.0)
    level = np.einsum("...tk,...k->...t", given[..., :N_LIMB], limb)  # L
    model = pred[..., :2].astype(np.float64)
    shift = (level - np.einsum("...tj,...j->...t", model, v)) / norm[..., None]
    projected = model + shift[..., None] * v[..., None, :]
    pair = np.where(
        (count == N_LIMB)[..., None, None],
        given[..., :2],
        np.where((count == 1)[..., None, None], projected, model),
    )
    out[..., :2] = pair
    return derive_limb_leads(out, copy=False)


def _leads_and_mask(signals: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check shapes: ``signals`` (..., samples, 12) and ``present`` (..., 12) with matching
    leading axes; the mask as booleans."""
    signals = np.asarray(signals)
    mask = np.asarray(present) > 0
    if signals.ndim < 2 or signals.shape[-1] != 12 or mask.shape != signals.shape[:-2] + (12,):
        raise ValueError(
            f"expected leads (..., samples, 12) and a mask (..., 12), got {signals.shape} "
            f"and {np.shape(present)}"
        )
    return signals, mask


def _limb_from(pair: np.ndarray, like: np.ndarray) -> np.ndarray:
    """The six limb leads (..., samples, 6) from (I, II) pairs (..., samples, 2), in the dtype of
    ``like``, by :func:`derive_limb_leads`'s arithmetic."""
    leads = np.zeros(pair.shape[:-1] + (12,), dtype=like.dtype)
    leads[..., :2] = pair
    return derive_limb_leads(leads, copy=False)[..., :N_LIMB]


def to_standard_order(signal: np.ndarray, names: list[str] | tuple[str, ...]) -> np.ndarray:
    """Reorder a (samples x channels) record into the 12 standard leads by (case-insensitive) name.

    Missing limb leads are derived from I and II; any other missing lead is a ``KeyError``.
    Extra channels (Frank leads, say) are ignored.
    """
    found = {}
    for col, name in enumerate(names):
        try:
            found.setdefault(lead_index(name), col)
        except KeyError:
            continue
    n = signal.shape[0]
    out = np.full((n, 12), np.nan, dtype=np.float64)
    for idx, col in found.items():
        out[:, idx] = signal[:, col]
    missing = [LEAD_NAMES[i] for i in range(12) if i not in found]
    lacking = [lead for lead in ("I", "II") if lead_index(lead) not in found]
    if lacking:
        shown = ", ".join(map(str, names[:12])) + (", ..." if len(names) > 12 else "")
        raise KeyError(f"record lacks lead {' and '.join(lacking)} (has {shown})")
    if set(missing) - {"III", "aVR", "aVL", "aVF"}:
        raise KeyError(f"record lacks leads {', '.join(missing)}")
    derived = derive_limb_leads(np.nan_to_num(out), copy=False)
    for name in missing:
        out[:, lead_index(name)] = derived[:, lead_index(name)]
    return out
