"""The model-agnostic middle of the pipeline: windows -> model -> stitched, mV, consistent leads.

``predict`` is any callable with the ecg12 contract, (batch, window) -> (batch, 12, window):
an onnxruntime session at run time, a Keras model during training. Both therefore share this code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from ecg12.leads import derive_limb_leads
from ecg12.preprocess import PreprocessSpec, to_millivolts
from ecg12.windows import overlap_spread, split, stitch

Predict = Callable[[np.ndarray], np.ndarray]


class Stitched(NamedTuple):
    """One signal's raw prediction (samples x 12, model units) and how much its overlapping
    windows disagreed per lead (12, model units; see :func:`ecg12.windows.overlap_spread`)."""

    leads: np.ndarray
    spread: np.ndarray


def infer(
    leads_i: Sequence[np.ndarray], spec: PreprocessSpec, predict: Predict, batch_size: int = 256
) -> list[Stitched]:
    """Conditioned Lead I signals (model units) -> raw 12-lead predictions (samples x 12).

    Windows of all signals are pooled into full batches, so many short records run as fast as
    one long one.
    """
    windows = [split(np.asarray(x, dtype=np.float32), spec.window, spec.stride) for x in leads_i]
    if not windows:
        return []
    pooled = np.concatenate(windows)
    out = np.concatenate(
        [predict(pooled[i : i + batch_size]) for i in range(0, len(pooled), batch_size)]
    )
    if out.shape != (len(pooled), 12, spec.window):
        raise ValueError(f"model returned {out.shape}, expected {(len(pooled), 12, spec.window)}")
    results, k = [], 0
    for x, w in zip(leads_i, windows, strict=True):
        pred = out[k : k + len(w)]
        results.append(
            Stitched(stitch(pred, len(x), spec.stride), overlap_spread(pred, len(x), spec.stride))
        )
        k += len(w)
    return results


def finish(leads: np.ndarray, lead_i: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """Model units -> mV, Lead I replaced by the input itself, limb leads derived from I and II."""
    out = np.array(leads, dtype=np.float32, copy=True)
    out[:, 0] = lead_i
    return derive_limb_leads(to_millivolts(out, spec))
