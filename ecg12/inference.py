"""The model-agnostic middle of the pipeline: windows -> model -> stitched, mV, consistent leads.

``predict`` is any callable with an ecg12 contract: (batch, window) -> (batch, 12, window) for a
Lead I model; (batch, 12, window) given leads and (batch, 12) presence -> (batch, 12, window)
for an any-lead model. An onnxruntime session at run time, a Keras model during training: both
therefore share this code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from ecg12.leads import assemble_given, derive_limb_leads
from ecg12.preprocess import PreprocessSpec, to_millivolts
from ecg12.windows import overlap_spread, split, stitch

Predict = Callable[..., np.ndarray]


class Stitched(NamedTuple):
    """One signal's raw prediction (samples x 12, model units) and how much its overlapping
    windows disagreed per lead (12, model units; see :func:`ecg12.windows.overlap_spread`)."""

    leads: np.ndarray
    spread: np.ndarray


def infer(
    signals: Sequence[np.ndarray],
    spec: PreprocessSpec,
    predict: Predict,
    batch_size: int = 256,
    present: Sequence[np.ndarray] | None = None,
) -> list[Stitched]:
    """Conditioned signals (model units) -> raw 12-lead predictions (samples x 12):
    :func:`predict_windows`, then :func:`stitch_windows` for each signal."""
    windows = predict_windows(signals, spec, predict, batch_size, present)
    return [stitch_windows(w, len(x), spec) for x, w in zip(signals, windows, strict=True)]


def predict_windows(
    signals: Sequence[np.ndarray],
    spec: PreprocessSpec,
    predict: Predict,
    batch_size: int = 256,
    present: Sequence[np.ndarray] | None = None,
) -> list[np.ndarray]:
    """Conditioned signals (model units) -> each one's window predictions (windows, 12,
    window), in order.

    Lead I signals (samples,) for a Lead I model; for an any-lead model the given leads
    (samples, 12), zero where not given, with ``present`` holding each signal's (12,) mask.
    Windows of all signals are pooled into full batches, so many short records run as fast as
    one long one.
    """
    windows = [split(np.asarray(x, dtype=np.float32), spec.window, spec.stride) for x in signals]
    if not windows:
        return []
    pooled = np.concatenate(windows)
    masks = None
    if present is not None:
        counts = [len(w) for w in windows]
        masks = np.repeat(np.asarray(present, np.float32).reshape(-1, 12), counts, axis=0)

    def run(i: int) -> np.ndarray:
        batch = pooled[i : i + batch_size]
        return predict(batch) if masks is None else predict(batch, masks[i : i + batch_size])

    out = np.empty((len(pooled), 12, spec.window), dtype=np.float32)
    for i in range(0, len(pooled), batch_size):  # each batch straight into place: no concatenation
        got, want = run(i), out[i : i + batch_size]
        if got.shape != want.shape:
            raise ValueError(f"model returned {got.shape}, expected {want.shape}")
        want[...] = got
    ends = np.cumsum([len(w) for w in windows]).tolist()
    return [out[end - len(w) : end] for w, end in zip(windows, ends, strict=True)]


def stitch_windows(pred: np.ndarray, n: int, spec: PreprocessSpec) -> Stitched:
    """One ``n``-sample signal's window predictions -> its :class:`Stitched` prediction.

    A step of its own, so that a batch run's workers stitch, not the process feeding the model.
    """
    return Stitched(stitch(pred, n, spec.stride), overlap_spread(pred, n, spec.stride))


def finish(
    leads: np.ndarray,
    inputs: np.ndarray,
    spec: PreprocessSpec,
    present: np.ndarray | None = None,
) -> np.ndarray:
    """Model units -> mV with the input itself in the output and the limb leads consistent.

    A Lead I model: ``inputs`` is the conditioned Lead I, which replaces the model's; III, aVR,
    aVL and aVF are derived from I and II. An any-lead model: ``inputs`` are the given leads
    (samples, 12) and ``present`` their mask, assembled by :func:`ecg12.leads.assemble_given`.
    """
    if present is None:
        out = to_millivolts(leads, spec)  # a new array: the limb leads are rebuilt in it
        out[:, 0] = to_millivolts(inputs, spec)
    else:
        given = np.asarray(inputs, np.float32)
        out = to_millivolts(assemble_given(np.asarray(leads, np.float32), given, present), spec)
    return derive_limb_leads(out, copy=False)
