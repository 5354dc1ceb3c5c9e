"""Every figure of docs/performance.md, measured on this machine; the full run writes the page.

    nice -n 19 python tests/benchmark_performance.py                 # all parts, writes the page
    nice -n 19 python tests/benchmark_performance.py --only long --hours 1
    nice -n 19 python tests/benchmark_performance.py --only batch host --records 50 --repeats 1
    nice -n 19 python tests/benchmark_performance.py --profile 50    # where host CPU goes

Parts: ``speed`` (tests/benchmark_speed.py: warm latency, cold CLI, peak memory, records/s,
network windows/s), ``long`` (tests/benchmark_long.py: 1, 6 and 24 h records), ``batch``
(``ecg12 reconstruct DIR`` against bare onnxruntime running the very batches ecg12 ran: CPU
time, records/s) and ``host`` (CPU per record of everything but the network, by
``--workers``). A run of every part writes docs/performance.md; a partial run prints its
tables. Not a test: numbers belong in a report, not in assertions that flake.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

import numpy as np
from benchmark_common import REPO, Child, load_average, machine, reconstruct_cmd, run_child
from benchmark_long import long_run
from benchmark_speed import Speed, ten_seconds
from benchmark_speed import measure as measure_speed

if TYPE_CHECKING:
    from ecg12.model import Model

PARTS = ("speed", "long", "batch", "host")
PAGE = REPO / "docs" / "performance.md"
BARE = Path(__file__).with_name("benchmark_ort.py")
#: Session config entries a bare session copies from ecg12's when they are set.
CONFIG_KEYS = ("session.intra_op.allow_spinning", "session.inter_op.allow_spinning")


# --- records and the model with its network replaced ------------------------------------------


def write_records(folder: Path, n: int) -> Path:
    """``n`` ten-second 500 Hz Lead I records (benchmark_speed's) as WFDB files in ``folder``."""
    from ecg12.writers import write_record

    folder.mkdir(parents=True)
    for i, x in enumerate(ten_seconds(n=n)):
        write_record(x[:, None], 500.0, ["I"], ["mV"], ["benchmark"], folder / f"rec{i:05d}")
    return folder


class Replay:
    """Stands in for a model's onnxruntime session (``real``): every batch gets one real
    prediction cut to its size, so everything but the network runs as it does for real;
    ``batches`` keeps what it was given while ``keep`` is set (for bare onnxruntime to run)."""

    def __init__(self, real: Any, prediction: np.ndarray) -> None:
        self.real, self.prediction = real, prediction
        self.keep = False
        self.batches: list[np.ndarray] = []

    def run(self, names: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        x = next(iter(feeds.values()))
        if self.keep:
            self.batches.append(np.array(x))
        return [np.resize(self.prediction, (len(x), *self.prediction.shape[1:]))]


def replayed(name: str | None) -> tuple[Model, Replay]:
    """Model ``name`` on the CPU with its session replaced by a :class:`Replay` of its own
    prediction for one real record."""
    import ecg12
    from ecg12.preprocess import preprocess
    from ecg12.windows import split

    model = ecg12.load(name, device="cpu")
    spec = model.spec
    windows = split(preprocess(ten_seconds()[0], 500.0, spec), spec.window, spec.stride)
    replay = Replay(model.session, model.predict(windows))
    model.session = replay  # type: ignore[assignment]
    return model, replay


def reconstruct_here(model: Model, inputs: list[str], out: Path, *options: str) -> None:
    """``ecg12 reconstruct`` in this process (quiet), with ``model`` as the model it loads."""
    from ecg12.cli import main, reconstruct

    with mock.patch.object(reconstruct, "load", lambda *a, **k: model):
        main(["reconstruct", *inputs, "-o", str(out), "-q", *options], standalone_mode=False)


def warm_up(model: Model, folder: Path, scratch: Path) -> None:
    """Run a few records first, so that lazy imports are not counted as host work."""
    files = sorted(str(p) for p in folder.glob("*.hea"))[:8]
    reconstruct_here(model, files, scratch / "warm")
    shutil.rmtree(scratch / "warm")


def cpu_seconds() -> float:
    """User + system CPU time of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- host: everything but the network ---------------------------------------------------------


@dataclass(frozen=True)
class HostRun:
    """Host work of ``ecg12 reconstruct DIR`` with the network replaced, per record."""

    workers: int
    cpu_ms: float  # CPU per record, all threads
    records_per_s: float  # what the host side alone could sustain (wall)


def host_part(
    model: Model, folder: Path, scratch: Path, workers: list[int], repeats: int
) -> list[HostRun]:
    """CPU and wall time per record of the DIR path in this process (imports warmed first),
    median of ``repeats`` runs per worker count."""
    warm_up(model, folder, scratch)
    n = len(list(folder.glob("*.hea")))
    runs = []
    for w in workers:
        cpu, wall = [], []
        for r in range(repeats):
            out = scratch / f"host-{w}-{r}"
            started, started_cpu = time.perf_counter(), cpu_seconds()
            reconstruct_here(model, [str(folder)], out, "--workers", str(w))
            cpu.append(cpu_seconds() - started_cpu)
            wall.append(time.perf_counter() - started)
            shutil.rmtree(out)
        runs.append(HostRun(w, statistics.median(cpu) / n * 1000, n / statistics.median(wall)))
    return runs


class SyncPool:
    """A thread pool that runs each task at once in the caller's thread, so cProfile (which
    follows one thread) sees the workers' reading, checking and writing too."""

    def __init__(self, workers: int) -> None:
        del workers

    def __enter__(self) -> SyncPool:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, fn: Any, *args: Any) -> Future:
        future: Future = Future()
        future.set_result(fn(*args))
        return future


def profile_host(model: Model, folder: Path, scratch: Path, top: int = 30) -> None:
    """Print where the host side of the DIR path spends CPU (one thread, network replaced)."""
    import ecg12.cli.batch

    warm_up(model, folder, scratch)
    profiler = cProfile.Profile(time.thread_time)
    with mock.patch.object(ecg12.cli.batch, "ThreadPoolExecutor", SyncPool):
        profiler.runcall(reconstruct_here, model, [str(folder)], scratch / "profiled")
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


# --- batch: the DIR path against bare onnxruntime ---------------------------------------------


@dataclass(frozen=True)
class BatchRun:
    """``ecg12 reconstruct DIR`` and bare onnxruntime on the same batches (medians of pairs)."""

    records: int
    windows: int
    batches: int
    cli: Child
    bare: Child
    bare_run_s: float  # CPU inside the bare session's run calls
    ratios: list[float]  # CLI CPU / bare CPU, per pair run back to back

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)


def session_settings(session: Any) -> dict[str, Any]:
    """What a bare session needs to run as ``session`` does: providers, threads, config."""
    options = session.get_session_options()
    config = {}
    for key in CONFIG_KEYS:
        try:
            config[key] = options.get_session_config_entry(key)
        except RuntimeError:  # a key never set
            continue
    return {
        "providers": session.get_providers(),
        "intra_op_num_threads": options.intra_op_num_threads,
        "inter_op_num_threads": options.inter_op_num_threads,
        "config": config,
    }


def record_batches(model: Model, replay: Replay, folder: Path, scratch: Path) -> list[Path]:
    """Run the DIR path once with the network replaced, keeping the batches it hands the
    session; returns the bare run's arguments: model file, batches, session settings."""
    replay.keep, replay.batches = True, []
    reconstruct_here(model, [str(folder)], scratch / "recorded")
    replay.keep = False
    shutil.rmtree(scratch / "recorded")
    batches, settings = scratch / "batches.npz", scratch / "settings.json"
    np.savez(batches, **{f"b{i:05d}": b for i, b in enumerate(replay.batches)})
    settings.write_text(json.dumps(session_settings(replay.real)), encoding="utf-8")
    return [model.path, batches, settings]


def batch_part(
    model: Model, replay: Replay, folder: Path, scratch: Path, repeats: int, options: list[str]
) -> BatchRun:
    """Pairs of fresh processes, back to back: ``ecg12 reconstruct DIR -o OUT`` (with
    ``options``), then bare onnxruntime on the batches that path gives its session, with the
    same model file and session settings."""
    bare_args = [
        sys.executable,
        str(BARE),
        *map(str, record_batches(model, replay, folder, scratch)),
    ]
    cli, bare = [], []
    for r in range(repeats):
        cli.append(run_child(reconstruct_cmd([folder], scratch / f"cli-{r}", *options)))
        shutil.rmtree(scratch / f"cli-{r}")
        bare.append(run_child(bare_args))
    return BatchRun(
        len(list(folder.glob("*.hea"))),
        sum(len(b) for b in replay.batches),
        len(replay.batches),
        median_child(cli),
        median_child(bare),
        statistics.median(float(b.stdout) for b in bare),
        [c.cpu_s / b.cpu_s for c, b in zip(cli, bare, strict=True)],
    )


def median_child(runs: list[Child]) -> Child:
    """The median of each figure over repeated runs."""
    return Child(
        statistics.median(r.wall_s for r in runs),
        statistics.median(r.cpu_s for r in runs),
        statistics.median(r.peak_mb for r in runs),
    )


# --- tables -----------------------------------------------------------------------------------


def table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table."""
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join(f"| {' | '.join(cells)} |" for cells in lines)


def speed_section(s: Speed) -> str:
    rows = [
        ["one 10 s record, model loaded (`Model.reconstruct`)", f"{s.warm_ms:.0f} ms", "< 100 ms"],
        ["cold `ecg12 reconstruct` of one 30 s file (wall)", f"{s.cold_s:.2f} s", "< 2 s"],
        ["peak RSS of that process", f"{s.peak_mb:.0f} MB", "< 500 MB"],
        ["200 ten-second records, `reconstruct_many`", f"{s.records_per_s:.1f} records/s", ">= 20"],
        ["network only, `Model.predict` on 256 windows", f"{s.windows_per_s:.0f} windows/s", ""],
    ]
    return f"## One record, and the network alone\n\nModel `{s.model}`, CPU.\n\n" + table(
        ["figure", "measured", "target"], rows
    )


def long_section(runs: list[tuple[float, Child]]) -> str:
    rows = [
        [
            f"{h:g} h",
            f"{c.peak_mb:.0f}",
            f"{c.wall_s:.0f}",
            f"{c.wall_s / h:.0f}",
            f"{c.cpu_s:.0f}",
            f"{c.cpu_s / h:.0f}",
        ]
        for h, c in runs
    ]
    header = ["record", "peak RSS (MB)", "wall (s)", "wall per hour", "CPU (s)", "CPU per hour"]
    return (
        "## Long records\n\n`ecg12 reconstruct` of a generated 500 Hz Lead I record to WFDB, "
        "each in a fresh process. Target: 24 h under 1 GB peak RSS, time linear in length "
        "(equal per-hour figures).\n\n" + table(header, rows)
    )


def batch_section(b: BatchRun) -> str:
    rows = [
        ["CPU, user + system (s)", f"{b.cli.cpu_s:.1f}", f"{b.bare.cpu_s:.1f}"],
        ["wall (s)", f"{b.cli.wall_s:.1f}", f"{b.bare.wall_s:.1f}"],
        ["records/s (wall, whole process)", f"{b.records / b.cli.wall_s:.1f}", ""],
        ["peak RSS (MB)", f"{b.cli.peak_mb:.0f}", f"{b.bare.peak_mb:.0f}"],
    ]
    extra = (b.cli.cpu_s - b.bare.cpu_s) / b.records * 1000
    pairs = ", ".join(f"{r:.3f}" for r in b.ratios)
    return (
        f"## Many records: `ecg12 reconstruct DIR -o OUT` against bare onnxruntime\n\n"
        f"{b.records} ten-second 500 Hz Lead I records (WFDB) in one folder; {b.windows} "
        f"windows in {b.batches} session calls. Bare onnxruntime (tests/benchmark_ort.py) runs "
        "exactly the batches ecg12 gave its session, with the same model file and session "
        "settings, in a process that imports numpy and onnxruntime only. Each figure is the "
        "median of the pairs run back to back; CPU counts every thread of the process, start-up "
        "included.\n\n"
        + table(["", "ecg12 reconstruct DIR", "bare onnxruntime"], rows)
        + f"\n\n**CPU ratio {b.ratio:.3f}** (target <= 1.15; pairs: {pairs}). The bare "
        f"session's `run` calls alone took {b.bare_run_s:.1f} s of CPU. Everything ecg12 does "
        f"beyond the network, start-up differences included: {extra:.1f} ms of CPU per record."
    )


def host_section(runs: list[HostRun]) -> str:
    rows = [[str(r.workers), f"{r.cpu_ms:.2f}", f"{r.records_per_s:.0f}"] for r in runs]
    return (
        "## Host work per record\n\n`ecg12 reconstruct DIR -q --workers N` in one process with "
        "the network replaced by a stand-in returning a real prediction (imports warmed first): "
        "reading, checks, conditioning, windows, stitching, trust, output rate, writing, all "
        "threads. Target: <= 3 ms of CPU per ten-second record.\n\n"
        + table(["--workers", "host CPU per record (ms)", "records/s, host side alone"], rows)
    )


def page(sections: list[str], about: dict[str, str], argv: list[str]) -> str:
    """The whole page: how it was made, on what, then each part's table."""
    command = " ".join(["python tests/benchmark_performance.py", *argv])
    facts = table(["", ""], [[k, v] for k, v in about.items()])
    return (
        "\n\n".join(
            [
                "# Performance",
                f"Made by `{command}` (every number on this page; nothing is edited by hand). "
                "CPU figures count user and system time; on a machine shared with other work they "
                "hold up better than wall times, which the load average puts in context.",
                facts,
                *sections,
            ]
        )
        + "\n"
    )


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--model", default=None, help="model name (default: the registry's)")
    parser.add_argument("--records", type=int, default=200, help="ten-second records (batch, host)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (batch, host)")
    parser.add_argument("--hours", type=float, nargs="+", default=[1.0, 6.0, 24.0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--profile", type=int, metavar="N", help="profile host work on N records")
    args = parser.parse_args()
    about = machine()
    print("\n".join(f"{k}: {v}" for k, v in about.items()), flush=True)
    with tempfile.TemporaryDirectory(prefix="ecg12-bench-") as tmp:
        scratch = Path(tmp)
        if args.profile:
            folder = write_records(scratch / "in", args.profile)
            profile_host(replayed(args.model)[0], folder, scratch)
            return
        sections = run_parts(args, scratch)
    about["load average at end (1 / 5 / 15 min)"] = load_average()
    print(f"load average at end: {about['load average at end (1 / 5 / 15 min)']}")
    if set(args.only) == set(PARTS):
        PAGE.write_text(page(sections, about, sys.argv[1:]), encoding="utf-8")
        print(f"wrote {PAGE.relative_to(REPO)}")


def run_parts(args: argparse.Namespace, scratch: Path) -> list[str]:
    """Each chosen part in the page's order, each section printed as soon as it is measured."""
    sections = []

    def done(text: str) -> None:
        print(f"\n{text}\n", flush=True)
        sections.append(text)

    if "speed" in args.only:
        done(speed_section(measure_speed(args.model)[0]))
    if "long" in args.only:
        done(long_section([(h, long_run(h)) for h in args.hours]))
    if {"batch", "host"} & set(args.only):
        folder = write_records(scratch / "in", args.records)
        model, replay = replayed(args.model)
        if "batch" in args.only:
            options = ["--model", args.model] if args.model else []
            done(batch_section(batch_part(model, replay, folder, scratch, args.repeats, options)))
        if "host" in args.only:
            done(host_section(host_part(model, folder, scratch, args.workers, args.repeats)))
    return sections


if __name__ == "__main__":
    main()
