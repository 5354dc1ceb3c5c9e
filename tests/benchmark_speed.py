"""Speed and memory of the shipped model on this machine; prints measured numbers.

    python tests/benchmark_speed.py            # add --no-tf to skip the TensorFlow comparison
    python tests/benchmark_speed.py --device cuda --no-tf   # onnxruntime-gpu: also CPU vs CUDA

Targets (2-core machine): a 10 s record in < 100 ms warm, a cold `ecg12 reconstruct` of one
file in < 2 s, >= 20 ten-second records/s in batch, peak memory < 500 MB. Not a test: timings
belong in a benchmark that reports, not in assertions that flake.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from benchmark_common import reconstruct_cmd, run_child

if TYPE_CHECKING:
    from ecg12.model import Model

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "lead_i.hea"


def ten_seconds(fs: float = 500.0, n: int = 1) -> list[np.ndarray]:
    import wfdb

    x = wfdb.rdrecord(str(EXAMPLE.with_suffix(""))).p_signal[:, 0]
    return [np.roll(x, 731 * i)[: int(10 * fs)] for i in range(n)]


def warm_latency(model, repeats: int = 30) -> float:
    x = ten_seconds()[0]
    model.reconstruct(x, fs=500.0)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        model.reconstruct(x, fs=500.0)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def batch_rate(model, n: int = 200) -> float:
    """Records/s of ``reconstruct_many`` on ``n`` records, run once untimed first (on CUDA the
    first batch of each shape waits for cuDNN's search of its kernels)."""
    xs = ten_seconds(n=n)
    model.reconstruct_many(xs, fs=500.0)
    t = time.perf_counter()
    model.reconstruct_many(xs, fs=500.0)
    return n / (time.perf_counter() - t)


def cold_cli(device: str, repeats: int = 3) -> tuple[float, float]:
    """Median wall time and peak RSS (MB) of a fresh `ecg12 reconstruct` process."""
    runs = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as out:
            runs.append(run_child(reconstruct_cmd([EXAMPLE], out, "--device", device)))
    return statistics.median(r.wall_s for r in runs), max(r.peak_mb for r in runs)


def tensorflow_ratio(model, repeats: int = 20) -> tuple[float, float] | None:
    """Per 10 s record (9 windows): onnxruntime vs the same network in Keras/TensorFlow."""
    sys.path.insert(0, str(REPO))  # training/ lives beside the package, not inside it
    try:
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        import keras

        from training import ekgan
    except ImportError:
        return None
    net = ekgan.contract_model(ekgan.inference_generator(model.spec.window), model.spec.window)
    windows = np.random.default_rng(0).normal(size=(9, model.spec.window)).astype(np.float32)

    def timed(fn) -> float:
        fn()
        ts = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        return statistics.median(ts)

    ort_s = timed(lambda: model.predict(windows))
    tf_s = timed(lambda: keras.ops.convert_to_numpy(net(windows, training=False)))
    return ort_s, tf_s


def window_rate(model, batch: int = 256, repeats: int = 20) -> float:
    """Raw network throughput in windows/s, ``batch`` windows per ``Model.predict`` call (which
    runs them in its own batch size)."""
    windows = np.random.default_rng(0).normal(size=(batch, model.spec.window)).astype(np.float32)
    model.predict(windows)
    t = time.perf_counter()
    for _ in range(repeats):
        model.predict(windows)
    return batch * repeats / (time.perf_counter() - t)


def cuda_vs_cpu(model) -> float:
    """Largest difference (mV) between the CUDA and the CPU reconstruction of one record."""
    import ecg12

    cpu = ecg12.load(model.card.name, device="cpu")
    x = ten_seconds()[0]
    return float(
        np.abs(
            model.reconstruct(x, fs=500.0).p_signal - cpu.reconstruct(x, fs=500.0).p_signal
        ).max()
    )


@dataclass(frozen=True)
class Speed:
    """The figures of one run: a cold CLI process, then a warm model in this one."""

    model: str  # name and version
    cold_s: float  # wall time of a fresh `ecg12 reconstruct` of one 30 s file
    peak_mb: float  # that process's peak RSS
    warm_ms: float  # one 10 s record, model loaded
    records_per_s: float  # 200 ten-second records through reconstruct_many
    windows_per_s: float  # the network alone, Model.predict on 256 windows at a time


def measure(model_name: str | None = None, device: str = "cpu") -> tuple[Speed, Model]:
    """Every figure of :class:`Speed`, and the loaded model (for the optional comparisons)."""
    import ecg12

    cold, peak = cold_cli(device)
    model = ecg12.load(model_name, device=device)
    speed = Speed(
        f"{model.card.name} {model.card.version}",
        cold,
        peak,
        warm_latency(model) * 1000,
        batch_rate(model),
        window_rate(model),
    )
    return speed, model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--no-tf", action="store_true")
    args = parser.parse_args()
    speed, model = measure(args.model, args.device)
    size = model.card.size_bytes / 2**20
    print(
        f"model {speed.model} ({size:.1f} MiB), "
        f"{os.cpu_count()} CPU cores, onnxruntime {model.session.get_providers()[0]}"
    )
    if args.device == "cuda":
        print(f"largest CUDA - CPU difference, one 10 s record: {cuda_vs_cpu(model):.2e} mV")
    print(f"cold `ecg12 reconstruct` of one 30 s file: {speed.cold_s:.2f} s (target < 2 s)")
    print(f"peak memory of that process:               {speed.peak_mb:.0f} MB (target < 500 MB)")
    print(f"warm, one 10 s record:                     {speed.warm_ms:.0f} ms (target < 100 ms)")
    print(
        f"batch of 200 ten-second records:           {speed.records_per_s:.1f} records/s "
        "(target >= 20)"
    )
    print(f"network only, predict on 256 windows:      {speed.windows_per_s:,.0f} windows/s")
    if not args.no_tf and (ratio := tensorflow_ratio(model)):
        ort_s, tf_s = ratio
        print(
            f"network only, 9 windows (one 10 s record): onnxruntime {ort_s * 1000:.0f} ms, "
            f"Keras/TensorFlow {tf_s * 1000:.0f} ms, ratio {tf_s / ort_s:.1f}x"
        )


if __name__ == "__main__":
    main()
