"""Lead names and the limb-lead identities (Einthoven and Goldberger)."""

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


def lead_index(name: str) -> int:
    """Index of a lead in the standard order, matched case-insensitively (``AVR`` is ``aVR``)."""
    lowered = [n.lower() for n in LEAD_NAMES]
    try:
        return lowered.index(name.strip().lower())
    except ValueError:
        raise KeyError(f"unknown lead {name!r}; expected one of {', '.join(LEAD_NAMES)}") from None


def derive_limb_leads(leads: np.ndarray) -> np.ndarray:
    """Return a copy of ``leads`` (samples x 12) with III, aVR, aVL, aVF rebuilt from I and II.

    A model predicts all twelve rows, but only I and II carry independent limb information;
    recomputing the other four makes the output obey Einthoven's and Goldberger's laws exactly.
    """
    if leads.ndim != 2 or leads.shape[1] != 12:
        raise ValueError(f"expected samples x 12 leads, got shape {leads.shape}")
    out = leads.copy()
    lead_i, lead_ii = leads[:, 0], leads[:, 1]
    out[:, 2] = lead_ii - lead_i
    out[:, 3] = -(lead_i + lead_ii) / 2
    out[:, 4] = lead_i - lead_ii / 2
    out[:, 5] = lead_ii - lead_i / 2
    return out


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
    derived = derive_limb_leads(np.nan_to_num(out))
    for name in missing:
        out[:, lead_index(name)] = derived[:, lead_index(name)]
    return out
