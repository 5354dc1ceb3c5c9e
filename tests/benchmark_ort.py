"""Bare onnxruntime on recorded batches: the floor an ``ecg12 reconstruct`` process is held to.

    python tests/benchmark_ort.py MODEL.onnx BATCHES.npz SETTINGS.json

Runs each array of BATCHES.npz (``b00000``, ``b00001``, ...: exactly the batches ecg12 gave its
session, in order) through a session made with the settings ecg12's model uses (SETTINGS.json:
providers, thread counts, config entries), and prints the CPU seconds spent in ``run``. Imports
numpy and onnxruntime only, so the process's own CPU time is the network's plus the least any
program running it must pay to start. Run by tests/benchmark_performance.py.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import onnxruntime as ort


def session(model: str, settings: dict) -> ort.InferenceSession:
    """A session with ``settings`` as :func:`tests.benchmark_performance.session_settings`
    reads them off ecg12's session."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = settings["intra_op_num_threads"]
    options.inter_op_num_threads = settings["inter_op_num_threads"]
    for key, value in settings["config"].items():
        options.add_session_config_entry(key, value)
    return ort.InferenceSession(model, options, providers=settings["providers"])


def main() -> None:
    model, batches, settings = sys.argv[1:4]
    with open(settings, encoding="utf-8") as f:
        sess = session(model, json.load(f))
    name = sess.get_inputs()[0].name
    with np.load(batches) as data:
        arrays = [data[k] for k in sorted(data.files)]
    started = time.process_time()
    for x in arrays:
        sess.run(["leads"], {name: x})
    print(f"{time.process_time() - started:.3f}")


if __name__ == "__main__":
    main()
