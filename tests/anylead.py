"""A tiny real any-lead ONNX model with a known answer, and a registry holding it beside the tiny
Lead I model: what the any-lead tests run on until a trained model is registered.

Known answer, in model units: every output lead k is ``GAINS[k]`` x the sum of the given rows
plus ``OFFSET`` x the number of given leads, so a test can tell which rows and which mask the
model was given.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from httpserver import card_entry, save_graph, write_registry, write_tiny_model

#: Output lead k = GAINS[k] x sum of the given rows + OFFSET x number of given leads.
GAINS = np.linspace(0.5, 1.6, 12).astype(np.float32)
OFFSET = 0.01
ANY_FILE = "anylead-v1.onnx"


def write_anylead_model(path: Path) -> bytes:
    """Write the any-lead model (inputs ``given``, ``present``; output ``leads``)."""
    from onnx import TensorProto, helper, numpy_helper

    inits = [
        numpy_helper.from_array(np.array([1], np.int64), "lead_axis"),
        numpy_helper.from_array(np.array([2], np.int64), "time_axis"),
        numpy_helper.from_array(GAINS.reshape(1, 12, 1), "gains"),
        numpy_helper.from_array(np.array(OFFSET, np.float32), "offset"),
    ]
    nodes = [
        helper.make_node("ReduceSum", ["given", "lead_axis"], ["total"], keepdims=1),
        helper.make_node("Mul", ["total", "gains"], ["scaled"]),
        helper.make_node("ReduceSum", ["present", "lead_axis"], ["count"], keepdims=1),
        helper.make_node("Unsqueeze", ["count", "time_axis"], ["count_3d"]),
        helper.make_node("Mul", ["count_3d", "offset"], ["shift"]),
        helper.make_node("Add", ["scaled", "shift"], ["leads"]),
    ]
    graph = helper.make_graph(
        nodes,
        "anylead",
        [
            helper.make_tensor_value_info("given", TensorProto.FLOAT, ["batch", 12, "window"]),
            helper.make_tensor_value_info("present", TensorProto.FLOAT, ["batch", 12]),
        ],
        [helper.make_tensor_value_info("leads", TensorProto.FLOAT, ["batch", 12, "window"])],
        initializer=inits,
    )
    return save_graph(graph, path)


def known_answer(given: np.ndarray, present: np.ndarray) -> np.ndarray:
    """What the model returns for ``given`` (samples, 12) and ``present`` (12,): (samples, 12)."""
    return given.sum(axis=1, keepdims=True) * GAINS + OFFSET * present.sum()


def write_anylead_bundle(root: Path, any_lead_default: bool = True, **card: object) -> Path:
    """Bundled models "tiny" (Lead I, the default) and "anylead" (``card`` changes its entry)
    beside their registry, "anylead" named ``any_lead_default`` unless told otherwise."""
    root.mkdir(parents=True, exist_ok=True)
    tiny = write_tiny_model(root / "tiny-v1.onnx")
    anylead = write_anylead_model(root / ANY_FILE)
    entry = card_entry(anylead, bundled=True, file=ANY_FILE, inputs="any")
    entry["description"] = "test model: gains x sum of the given leads"
    entry["sha256"] = hashlib.sha256(anylead).hexdigest()
    models = {"tiny": card_entry(tiny, bundled=True), "anylead": {**entry, **card}}
    path = write_registry(root / "registry.json", models)
    if any_lead_default:
        data = json.loads(path.read_text())
        data["any_lead_default"] = "anylead"
        path.write_text(json.dumps(data, indent=2))
    return path
