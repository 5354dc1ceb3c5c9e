"""The GPU path on a machine with onnxruntime-gpu: the network's ways of running, and
``ecg12 reconstruct DIR`` end to end; prints markdown tables (and writes them with --page).

    python tests/benchmark_gpu.py --records 10000 --workers 4 8 15 --page docs/performance-gpu.md
    python tests/benchmark_gpu.py --device cpu --records 40 --workers 2    # a dry run anywhere

``network``: windows/s of the shipped model through ``session.run`` on numpy arrays, through
IOBinding on fixed device buffers, with the batch dimension fixed in the graph, and with CUDA
graphs; in float32 and float16 in and out (the model computes in float16 between a cast at
each end, so float16 in and out gives the same numbers). ``cli``: a fresh ``ecg12 reconstruct
DIR -o OUT -q`` process on ten-second 500 Hz records, by workers. ``main``: the same run in this
process, to tell the CPU of the process that runs the model from its workers', as shipped and
with the batch engine's constants or the model's batch size changed (``--variants``). Not a
test.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
from benchmark_common import machine, reconstruct_cmd, run_child
from benchmark_performance import table, write_records

Runner = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Way:
    """One way to run the network: how the session is made and fed."""

    name: str
    fixed: bool  # batch dimension fixed in the session (free-dimension override)
    bound: bool  # IOBinding on device buffers made once
    graph: bool  # CUDA graphs (needs fixed, bound and every node on the GPU)


WAYS = [
    Way("run", False, False, False),
    Way("bound", False, True, False),
    Way("fixed + bound", True, True, False),
    Way("fixed + bound + CUDA graph", True, True, True),
]


def half_io(path: Path, out: Path) -> Path:
    """The model with float16 in and out: its first and last casts made float16 to float16
    (it computes in float16 between them), so its numbers are the float32 model's."""
    import onnx

    model = onnx.load(str(path))
    graph = model.graph
    first, last = graph.node[0], graph.node[-1]
    if first.op_type != "Cast" or last.op_type != "Cast" or last.output[0] != "leads":
        raise SystemExit(f"{path}: not a cast at each end; no float16 variant")
    for attr in last.attribute:
        if attr.name == "to":
            attr.i = onnx.TensorProto.FLOAT16
    for value in (*graph.input, *graph.output):
        value.type.tensor_type.elem_type = onnx.TensorProto.FLOAT16
    onnx.save(model, str(out))
    return out


def dims(path: Path) -> tuple[str, ...]:
    """The names of the free batch dimensions of the model's inputs and output."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return tuple(v.type.tensor_type.shape.dim[0].dim_param for v in (*graph.input, *graph.output))


def runner(path: Path, way: Way, batch: int, dtype: Any, device: str) -> Runner:
    """A callable running (batch, window) windows through a session made for ``way``."""
    import onnxruntime as ort

    from ecg12.model import session_options

    options = session_options()
    if way.fixed:
        for name in dims(path):
            options.add_free_dimension_override_by_name(name, batch)
    if device == "cuda":
        cuda: dict[str, str] = {"enable_cuda_graph": "1"} if way.graph else {}
        providers: list[Any] = [("CUDAExecutionProvider", cuda), "CPUExecutionProvider"]
    else:
        providers = ["CPUExecutionProvider"]
    session = ort.InferenceSession(str(path), options, providers=providers)
    if not way.bound:
        return lambda x: session.run(["leads"], {"lead_i": x})[0]
    window = session.get_inputs()[0].shape[1]
    x_dev = ort.OrtValue.ortvalue_from_shape_and_type((batch, window), dtype, device, 0)
    y_dev = ort.OrtValue.ortvalue_from_shape_and_type((batch, 12, window), dtype, device, 0)
    binding = session.io_binding()
    binding.bind_ortvalue_input("lead_i", x_dev)
    binding.bind_ortvalue_output("leads", y_dev)

    def run(x: np.ndarray) -> np.ndarray:
        x_dev.update_inplace(x)
        session.run_with_iobinding(binding)
        return y_dev.numpy()

    return run


def windows_per_s(run: Runner, x: np.ndarray, seconds: float) -> float:
    """Median of 3 timed spells of about ``seconds`` each, after 3 warm-up calls."""
    for _ in range(3):
        run(x)
    rates = []
    for _ in range(3):
        calls, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            run(x)
            calls += 1
        rates.append(calls * len(x) / elapsed)
    return statistics.median(rates)


def network_part(
    path: Path, window: int, scratch: Path, device: str, batches: list[int], seconds: float
):
    """Rows: variant, way, batch, windows/s, and the largest difference from float32 ``run``."""
    half = half_io(path, scratch / "half-io.onnx")
    rng = np.random.default_rng(0)
    rows = []
    for batch in batches:
        x = (rng.normal(size=(batch, window)) * 0.5).astype(np.float32)
        reference = runner(path, WAYS[0], batch, np.float32, device)(x)
        for label, model, dtype in (("float32", path, np.float32), ("float16", half, np.float16)):
            for way in WAYS:
                try:
                    run = runner(model, way, batch, dtype, device)
                    got = run(x.astype(dtype)).astype(np.float32)
                    diff = float(np.abs(got - reference).max())
                    rate = windows_per_s(run, x.astype(dtype), seconds)
                except Exception as exc:  # a way the provider does not allow: say why
                    rows.append([label, way.name, str(batch), "failed", str(exc)[:80]])
                    continue
                print(f"  {label} {way.name} batch {batch}: {rate:,.0f} windows/s, diff {diff:.1e}")
                rows.append([label, way.name, str(batch), f"{rate:,.0f}", f"{diff:.1e}"])
    return rows


def cli_part(folder: Path, scratch: Path, device: str, settings: list[list[str]]):
    """Rows: options, records/s (wall), CPU per record (the process and its workers)."""
    n = len(list(folder.glob("*.hea")))
    rows = []
    for k, options in enumerate(settings):
        out = scratch / f"cli-{k}"
        child = run_child(reconstruct_cmd([folder], out, "--device", device, *options))
        cpu = f"{child.cpu_s:.1f} s"  # its worker processes' too: it waited for them
        made = len(list(out.glob("*.hea")))
        label = " ".join(options) or "(defaults)"
        print(f"  {label}: {n / child.wall_s:,.0f} records/s, {made} written, {child.wall_s:.1f} s")
        rows.append([label, f"{n / child.wall_s:,.0f}", f"{child.wall_s:.1f}", cpu, str(made)])
    return rows


def patched(variant: str) -> contextlib.AbstractContextManager:
    """``NAME=VALUE`` set for a run: ``BATCH`` the model's batch size, any other name a
    constant of ecg12.cli.batch (``GROUP``, ``READ_AHEAD``, ``TASKS_PER_WORKER``)."""
    import ecg12.cli.batch
    import ecg12.model

    stack = contextlib.ExitStack()
    for item in filter(None, variant.split(",")):
        name, value = item.split("=")
        if name == "BATCH":
            size = property(lambda self, n=int(value): n)
            stack.enter_context(mock.patch.object(ecg12.model.Model, "batch_size", size))
        else:
            stack.enter_context(mock.patch.object(ecg12.cli.batch, name, int(value)))
    return stack


def main_part(
    folder: Path, scratch: Path, device: str, options: list[str], variants: list[str], top: int
) -> list[list[str]]:
    """The run in this process, once per variant (the first profiled, its main thread's top
    ``top`` printed): records/s, and this process's CPU per record (the model's host side,
    the pool's own threads, handing files to workers and back) against the wall time."""
    from ecg12.cli import main

    n = len(list(folder.glob("*.hea")))
    args = ["reconstruct", str(folder), "-q", "--device", device, *options]
    few = sorted(str(p) for p in folder.glob("*.hea"))[:64]
    warm = ["reconstruct", *few, "-q", "--device", device, "-o", str(scratch / "main-warm")]
    main(warm, standalone_mode=False)  # imports, CUDA
    rows = []
    for k, variant in enumerate(variants):
        profiler = cProfile.Profile() if k == 0 and top else None
        with patched(variant):
            cpu, wall = time.process_time(), time.perf_counter()
            run = [*args, "-o", str(scratch / f"main-{k}")]
            if profiler is not None:
                profiler.runcall(main, run, standalone_mode=False)
            else:
                main(run, standalone_mode=False)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if profiler is not None:
            pstats.Stats(profiler).strip_dirs().sort_stats("tottime").print_stats(top)
        label = (variant or "(as shipped)") + (" (profiled)" if profiler else "")
        print(f"  {label}: {n / wall:,.0f} records/s, {cpu / n * 1000:.2f} ms CPU per record")
        rows.append([label, f"{n / wall:,.0f}", f"{cpu / n * 1000:.2f}"])
    return rows


def about(device: str) -> str:
    """The GPU (none on the CPU) and :func:`benchmark_common.machine`'s facts."""
    gpu = "no GPU"
    if device == "cuda":
        query = ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"]
        gpu = subprocess.run(query, capture_output=True, text=True, check=False).stdout.strip()
    return "; ".join([gpu, *(f"{k}: {v}" for k, v in machine().items())])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[4, 8, 15])
    parser.add_argument("--batches", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--seconds", type=float, default=0.5, help="per network timing spell")
    parser.add_argument("--only", nargs="+", default=["network", "cli", "main"])
    parser.add_argument("--profile", type=int, default=25, help="rows of the main profile")
    parser.add_argument(
        "--variants", nargs="*", default=[], help="main part: NAME=VALUE[,NAME=VALUE] runs"
    )
    parser.add_argument("--page", type=Path, help="write the tables here too")
    args = parser.parse_args()

    import ecg12

    if args.device == "cuda":
        ecg12.load(device="cuda")  # CUDA must start, else stop here
    shipped = ecg12.load(device="cpu")
    path = shipped.path
    sections = [f"Machine: {about(args.device)}.", f"Command: `{' '.join(sys.argv)}`."]
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        if "network" in args.only:
            print("network")
            window = shipped.spec.window
            rows = network_part(path, window, scratch, args.device, args.batches, args.seconds)
            header = ["in and out", "way", "batch", "windows/s", "largest difference"]
            sections.append("## The network\n\n" + table(header, rows))
        folder = write_records(scratch / "records", args.records)
        if "cli" in args.only:
            print("cli")
            settings = [[]] + [["--workers", str(w), "--processes"] for w in args.workers]
            rows = cli_part(folder, scratch, args.device, settings)
            header = ["options", "records/s", "wall s", "CPU (all processes)", "written"]
            sections.append(
                f"## `ecg12 reconstruct DIR`, {args.records:,} ten-second records\n\n"
                + table(header, rows)
            )
        if "main" in args.only:
            print("main")
            options = ["--workers", str(max(args.workers)), "--processes"]
            variants = ["", *args.variants]
            rows = main_part(folder, scratch, args.device, options, variants, args.profile)
            header = ["variant", "records/s", "CPU of the model's process per record (ms)"]
            sections.append(
                f"## In one process, `{' '.join(options)}`, by variant\n\n" + table(header, rows)
            )
    text = "\n\n".join(sections) + "\n"
    print(text)
    if args.page:
        args.page.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
