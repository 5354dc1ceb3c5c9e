"""Every figure of docs/performance.md, measured on this machine; the full run writes the page.

    nice -n 19 python tests/benchmark_performance.py                 # all parts, writes the page
    nice -n 19 python tests/benchmark_performance.py --only long --hours 1
    nice -n 19 python tests/benchmark_performance.py --only batch host --records 50 --repeats 1
    nice -n 19 python tests/benchmark_performance.py --profile 50    # where host CPU goes

Parts: ``speed`` (tests/benchmark_speed.py: warm latency, cold CLI, peak memory, records/s,
network windows/s), ``long`` (tests/benchmark_long.py: 1, 6 and 24 h records), ``archive``
(peak memory of a folder of many long records, network replayed), ``listing`` (finding
the files of a large archive and making their jobs), ``batch``
(``ecg12 reconstruct DIR`` against bare onnxruntime running the very batches ecg12 ran: CPU
time, records/s) and ``host`` (CPU per record of everything but the network, by
``--workers``). A run of every part writes docs/performance.md; a partial run prints its
tables. Not a test: numbers belong in a report, not in assertions that flake.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
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

PARTS = ("speed", "long", "archive", "listing", "batch", "host")
PAGE = REPO / "docs" / "performance.md"
BARE = Path(__file__).with_name("benchmark_ort.py")
# Every run writes into a folder of its own, all removed together when the script ends, never
# between runs: on ext4 without a journal (this project's machines) each file creation scans
# past the inodes freed in the last minute or so, and removing one run's 400 files made the next
# run's file creations cost up to ~1 ms of kernel CPU per record more (seen with ``perf``).
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

    def __init__(self, real: Any, prediction: np.ndarray, batch: int) -> None:
        self.real = real
        # Tiled once to a full batch: each call hands out a slice, nearly free, as a network's
        # output should be in a measure of everything but the network.
        self.prediction = np.resize(prediction, (batch, *prediction.shape[1:]))
        self.keep = False
        self.batches: list[np.ndarray] = []

    def run(self, names: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        x = next(iter(feeds.values()))
        if self.keep:
            self.batches.append(np.array(x))
        return [self.prediction[: len(x)]]


def replayed(name: str | None) -> tuple[Model, Replay]:
    """Model ``name`` on the CPU with its session replaced by a :class:`Replay` of its own
    prediction for one real record (an any-lead model: the default Lead I model's, of the
    same shape)."""
    import ecg12
    from ecg12.preprocess import preprocess
    from ecg12.windows import split

    model = ecg12.load(name, device="cpu")
    lead_i = model if model.inputs == "lead_i" else ecg12.load(None, device="cpu")
    spec = lead_i.spec
    windows = split(preprocess(ten_seconds()[0], 500.0, spec), spec.window, spec.stride)
    replay = Replay(model.session, lead_i.predict(windows), model.batch_size)
    model.session = replay  # type: ignore[assignment]
    return model, replay


def reconstruct_here(
    model: Model, inputs: list[str], out: Path, *options: str, quiet: bool = True
) -> None:
    """``ecg12 reconstruct`` in this process, with ``model`` as the model it loads: quiet (its
    errors in sight), or printing what it prints for each file into the void."""
    from ecg12.cli import main, reconstruct

    with mock.patch.object(reconstruct, "load", lambda *a, **k: model), contextlib.ExitStack() as s:
        if not quiet:
            void = s.enter_context(open(os.devnull, "w"))
            s.enter_context(contextlib.redirect_stdout(void))
            s.enter_context(contextlib.redirect_stderr(void))
        flags = ["-q"] if quiet else []
        main(["reconstruct", *inputs, "-o", str(out), *flags, *options], standalone_mode=False)


def warm_up(model: Model, folder: Path, scratch: Path) -> None:
    """Run a few records first, so that lazy imports are not counted as host work."""
    files = sorted(str(p) for p in folder.glob("*.hea"))[:8]
    reconstruct_here(model, files, scratch / "warm")  # kept: see the note on outputs above


def cpu_seconds(children: bool = True) -> float:
    """User + system CPU time of this process, all threads, and (``children``) of its ended
    worker processes."""
    who = (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) if children else (resource.RUSAGE_SELF,)
    usage = [resource.getrusage(w) for w in who]
    return sum(u.ru_utime + u.ru_stime for u in usage)


# --- host: everything but the network ---------------------------------------------------------


@dataclass(frozen=True)
class HostRun:
    """Host work of ``ecg12 reconstruct DIR`` with the network replaced, per record."""

    workers: str  # the options, e.g. "--workers 2 --processes"
    cpu_ms: float  # CPU per record, all threads and worker processes, their start included
    further_ms: float  # CPU per record beyond a run on one record per worker: start-up left out
    records_per_s: float  # what the host side alone could sustain (wall)
    # With worker processes: the further_ms of the process that runs the model, which no
    # number of workers shares out (None with threads: they are all that process)
    serial_ms: float | None


def host_part(
    model: Model,
    folder: Path,
    scratch: Path,
    workers: list[int],
    processes: list[int],
    repeats: int,
) -> list[HostRun]:
    """CPU and wall time per record of the DIR path in this process (imports warmed first),
    median of ``repeats`` runs per count of worker threads, then of worker processes (their
    start, about a second of CPU each, included); and the same on one record per worker, so
    that what each further record costs can be told from what starting the workers costs.
    The first count of processes runs once more without ``-q``: what printing each file's
    lines costs the process that runs the model."""
    warm_up(model, folder, scratch)
    n = len(list(folder.glob("*.hea")))
    runs = []
    counts = [(w, [], True) for w in workers] + [(w, ["--processes"], True) for w in processes]
    counts += [(w, ["--processes"], False) for w in processes[:1]]
    for w, extra, quiet in counts:
        tag = f"{w}{'p' if extra else ''}{'' if quiet else 'v'}"
        # One record per worker, so that the short run starts every worker the long one does.
        few = first_records(folder, scratch / f"host-few-{tag}", w)
        cpu: dict[Path, list[float]] = {folder: [], few: []}
        own: dict[Path, list[float]] = {folder: [], few: []}  # this process alone
        wall = []
        for r in range(repeats):
            for source in (folder, few):
                out = scratch / f"host-{source.name}-{tag}-{r}"
                started, started_cpu = time.perf_counter(), cpu_seconds()
                started_own = cpu_seconds(children=False)
                options = ["--workers", str(w), *extra]
                reconstruct_here(model, [str(source)], out, *options, quiet=quiet)
                cpu[source].append(cpu_seconds() - started_cpu)
                own[source].append(cpu_seconds(children=False) - started_own)
                if source == folder:
                    wall.append(time.perf_counter() - started)
        what = " ".join(["--workers", str(w), *extra, *([] if quiet else ["(printing)"])])
        many, start = statistics.median(cpu[folder]), statistics.median(cpu[few])
        own_many, own_start = statistics.median(own[folder]), statistics.median(own[few])
        runs.append(
            HostRun(
                what,
                many / n * 1000,
                (many - start) / (n - w) * 1000,
                n / statistics.median(wall),
                (own_many - own_start) / (n - w) * 1000 if extra else None,
            )
        )
    return runs


def first_records(folder: Path, into: Path, k: int) -> Path:
    """A folder ``into`` holding copies of the first ``k`` records of ``folder``."""
    into.mkdir()
    for path in sorted(folder.iterdir())[: 2 * k]:  # each record's .dat and .hea
        shutil.copy(path, into / path.name)
    return into


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


# --- archive: a folder of long records --------------------------------------------------------

#: The leads of each archive run's records: the Lead I model's, and the any-lead model's.
ARCHIVE_LEADS = (("I",), ("II", "V5"))


def write_long_records(folder: Path, n: int, minutes: float, leads: tuple[str, ...]) -> Path:
    """``n`` records of ``minutes`` at 500 Hz with ``leads`` (benchmark_speed's minute of beats,
    shifted per record; later leads scaled) as WFDB files in ``folder``."""
    from ecg12.writers import write_record

    folder.mkdir(parents=True)
    x = np.resize(np.concatenate(ten_seconds(n=6)), int(minutes * 60 * 500))
    for i in range(n):
        y = np.roll(x, 37 * i)
        signals = np.stack([y * (1 - 0.3 * k) for k in range(len(leads))], axis=1)
        units = ["mV"] * len(leads)
        write_record(signals, 500.0, list(leads), units, ["benchmark"], folder / f"rec{i:04d}")
    return folder


def archive_child(folder: Path, out: Path, name: str | None) -> None:
    """In a fresh process: ``ecg12 reconstruct FOLDER`` with model ``name`` replayed."""
    reconstruct_here(replayed(name)[0], [str(folder)], out)


def archive_part(records: int, minutes: float, scratch: Path) -> list[tuple[str, str, Child]]:
    """Each of :data:`ARCHIVE_LEADS`: ``records`` records of ``minutes`` in one folder through
    ``ecg12 reconstruct`` in a fresh process, network replayed: (leads, model, what it cost)."""
    from ecg12.registry import load_registry

    registry = load_registry()
    runs = []
    for leads in ARCHIVE_LEADS:
        name = registry.model_for(leads)
        tag = "-".join(leads)
        folder = write_long_records(scratch / f"archive-{tag}", records, minutes, leads)
        child = [sys.executable, __file__, "--archive-child", str(folder), name]
        runs.append((", ".join(leads), name, run_child([*child, str(scratch / f"out-{tag}")])))
    return runs


def archive_section(runs: list[tuple[str, str, Child]], records: int, minutes: float) -> str:
    """Part (archive): memory follows windows, not files."""
    rows = [
        [leads, name, f"{c.peak_mb:.0f}", f"{c.wall_s:.1f}", f"{c.cpu_s:.1f}"]
        for leads, name, c in runs
    ]
    return (
        f"## Many long records in one folder\n\n{records} records of {minutes:g} minutes at "
        "500 Hz (below the 30 minutes from which a record streams) through `ecg12 reconstruct "
        "DIR -q` in a fresh process, the network replaced by a stand-in returning a real "
        "prediction: what the batch engine holds at once (records read ahead, window "
        "predictions, records being written). Groups and model runs of about 4,096 windows "
        "bound it, however many and however long the files.\n\n"
        + table(["leads", "model", "peak RSS (MB)", "wall (s)", "CPU (s)"], rows)
    )


# --- listing: an archive's files found and made into jobs ------------------------------------


def write_empty_archive(folder: Path, n: int) -> Path:
    """``n`` empty WFDB records (.hea and .dat) in MIMIC-IV-ECG's layout: a folder per
    thousand patients, then one per patient and one per study."""
    for i in range(n):
        study = folder / f"p{1000 + i // 1000:04d}" / f"p{10_000_000 + i}" / f"s{40_000_000 + i}"
        study.mkdir(parents=True)
        for suffix in (".hea", ".dat"):
            (study / f"{40_000_000 + i}{suffix}").touch()
    return folder


def listing_section(n: int, scratch: Path, repeats: int) -> str:
    """Part (listing): what ``ecg12 reconstruct DIR -r`` does before its first record."""
    import tracemalloc

    from ecg12.cli.reconstruct import expand_inputs, make_jobs

    folder, out = write_empty_archive(scratch / "listing", n), scratch / "listing-out"
    found_s, jobs_s = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        found = expand_inputs((str(folder),), True, out)
        found_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        jobs = make_jobs(found, out)
        jobs_s.append(time.perf_counter() - started)
        del found, jobs
    tracemalloc.start()
    jobs = make_jobs(expand_inputs((str(folder),), True, out), out)
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rows = [
        ["files found (s)", f"{statistics.median(found_s):.1f}"],
        ["jobs made (s)", f"{statistics.median(jobs_s):.1f}"],
        ["memory held by the jobs (bytes per record)", f"{held / len(jobs):.0f}"],
        ["memory at most while listing (bytes per record)", f"{peak / len(jobs):.0f}"],
    ]
    return (
        f"## Listing a large archive\n\n{n:,} empty WFDB records (.hea and .dat) in "
        "MIMIC-IV-ECG's layout of nested folders, found by `ecg12 reconstruct DIR -r` and made "
        f"into jobs before the first record is read; median of {repeats} runs in this process, "
        "memory by tracemalloc.\n\n" + table(["", ""], rows)
    )


# --- batch: the DIR path against bare onnxruntime ---------------------------------------------


@dataclass(frozen=True)
class Pairs:
    """``ecg12 reconstruct DIR`` and bare onnxruntime on the same batches, run in pairs."""

    cli: list[Child]
    bare: list[Child]

    @property
    def ratios(self) -> list[float]:
        """CPU of ecg12 over bare onnxruntime, pair by pair."""
        return [c.cpu_s / b.cpu_s for c, b in zip(self.cli, self.bare, strict=True)]

    @property
    def extra_s(self) -> float:
        """Median CPU seconds ecg12 spends beyond bare onnxruntime."""
        return statistics.median(
            c.cpu_s - b.cpu_s for c, b in zip(self.cli, self.bare, strict=True)
        )


@dataclass(frozen=True)
class BatchRun:
    """The DIR path against bare onnxruntime: ``records`` records, and one record alone (what
    starting a process costs each side)."""

    records: int
    windows: int
    batches: int
    many: Pairs
    one: Pairs
    bare_run_s: float  # median CPU inside the bare session's run calls, all records


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


def bare_command(model: Model, replay: Replay, folder: Path, scratch: Path) -> list[str]:
    """Run the DIR path on ``folder`` once with the network replaced, keeping the batches it
    hands the session; returns the command that runs them through bare onnxruntime with the
    real session's model file and settings."""
    replay.keep, replay.batches = True, []
    reconstruct_here(model, [str(folder)], scratch / f"recorded-{folder.name}")
    replay.keep = False
    batches, settings = scratch / f"{folder.name}.npz", scratch / f"{folder.name}.json"
    np.savez(batches, **{f"b{i:05d}": b for i, b in enumerate(replay.batches)})
    settings.write_text(json.dumps(session_settings(replay.real)), encoding="utf-8")
    return [sys.executable, str(BARE), str(model.path), str(batches), str(settings)]


def paired(folder: Path, bare: list[str], options: list[str], scratch: Path, repeats: int) -> Pairs:
    """``ecg12 reconstruct folder`` (with ``options``) and ``bare``, each in a fresh process,
    ``repeats`` times back to back, in alternating order so that a change in the machine's
    load favours neither."""
    cli_runs: list[Child] = []
    bare_runs: list[Child] = []
    for r in range(repeats):
        out = scratch / f"cli-{folder.name}-{r}"
        commands = [reconstruct_cmd([folder], out, *options), bare]
        order = (0, 1) if r % 2 == 0 else (1, 0)
        runs = {k: run_child(commands[k]) for k in order}
        cli_runs.append(runs[0])
        bare_runs.append(runs[1])
    return Pairs(cli_runs, bare_runs)


def batch_part(
    model: Model, replay: Replay, folder: Path, scratch: Path, repeats: int, options: list[str]
) -> BatchRun:
    """``ecg12 reconstruct DIR -o OUT`` against bare onnxruntime on the batches that path gives
    its session (same model file, same session settings): on every record of ``folder``, and
    on its first record alone."""
    one = first_records(folder, scratch / "one", 1)
    single = paired(one, bare_command(model, replay, one, scratch), options, scratch, repeats)
    bare = bare_command(model, replay, folder, scratch)
    batches = list(replay.batches)
    many = paired(folder, bare, options, scratch, repeats)
    return BatchRun(
        len(list(folder.glob("*.hea"))),
        sum(len(b) for b in batches),
        len(batches),
        many,
        single,
        statistics.median(float(b.stdout) for b in many.bare),
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
    """Part (a): what one user with one record sees, and the network's own speed."""
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
    """Part (b): memory bounded and time linear in the record's length."""
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
    header = ["record", "peak RSS (MB)", "wall (s)", "wall s/h", "CPU (s)", "CPU s/h"]
    return (
        "## Long records\n\n`ecg12 reconstruct` of a generated 500 Hz Lead I record to WFDB, "
        "each in a fresh process. Target: 24 h under 1 GB peak RSS, time linear in length "
        "(equal per-hour figures).\n\n" + table(header, rows)
    )


def batch_section(b: BatchRun) -> str:
    """Part (c): what ecg12 costs beyond the network it runs, on an archive of short records."""
    cli, bare = median_child(b.many.cli), median_child(b.many.bare)
    one_cli, one_bare = median_child(b.one.cli), median_child(b.one.bare)
    rows = [
        [f"CPU, user + system (s), {b.records} records", f"{cli.cpu_s:.1f}", f"{bare.cpu_s:.1f}"],
        ["CPU (s), the first record alone", f"{one_cli.cpu_s:.2f}", f"{one_bare.cpu_s:.2f}"],
        [f"wall (s), {b.records} records", f"{cli.wall_s:.1f}", f"{bare.wall_s:.1f}"],
        ["records/s (wall, whole process)", f"{b.records / cli.wall_s:.1f}", ""],
        ["peak RSS (MB)", f"{cli.peak_mb:.0f}", f"{bare.peak_mb:.0f}"],
    ]
    pairs = ", ".join(f"{r:.3f}" for r in b.many.ratios)
    per_record = (b.many.extra_s - b.one.extra_s) / (b.records - 1) * 1000
    return (
        f"## Many records: `ecg12 reconstruct DIR -o OUT` against bare onnxruntime\n\n"
        f"{b.records} ten-second 500 Hz Lead I records (WFDB) in one folder: {b.windows} "
        f"windows in {b.batches} session calls. Bare onnxruntime (tests/benchmark_ort.py) runs "
        "exactly the batches ecg12 gave its session, with the same model file and session "
        "settings, in a process that imports numpy and onnxruntime only. Both run in fresh "
        "processes, in pairs back to back (alternating which goes first); figures are medians "
        "over the pairs, CPU counts every thread, start-up included.\n\n"
        + table(["", "ecg12 reconstruct DIR", "bare onnxruntime"], rows)
        + f"\n\n**CPU ratio {statistics.median(b.many.ratios):.3f}** (target <= 1.15; pairs: "
        f"{pairs}). The bare session's `run` calls alone took {b.bare_run_s:.1f} s of CPU. "
        f"ecg12 spent {b.many.extra_s:.1f} s of CPU beyond bare onnxruntime on {b.records} "
        f"records, {b.one.extra_s:.1f} s on one (mostly start-up: imports and the model's hash "
        f"check): {per_record:.1f} ms per further record."
    )


def host_section(runs: list[HostRun]) -> str:
    """Part (d): the host side alone, and how it scales with worker threads and processes."""
    rows = [
        [
            r.workers,
            f"{r.cpu_ms:.2f}",
            f"{r.further_ms:.2f}",
            "" if r.serial_ms is None else f"{r.serial_ms:.2f}",
            f"{r.records_per_s:.0f}",
        ]
        for r in runs
    ]
    return (
        "## Host work per record\n\n`ecg12 reconstruct DIR -q --workers N [--processes]` (the "
        "last row without `-q`, its lines printed to /dev/null) with "
        "the network replaced by a stand-in returning a real prediction (imports warmed first): "
        "reading, checks, conditioning, windows, stitching, trust, output rate, writing, all "
        "threads and worker processes (whose start, about a second of CPU each, is counted). "
        "Target: <= 3 ms of CPU per ten-second record. The third column leaves the start out: "
        "the CPU of the whole run less that of a run on one record per worker, over the other "
        "records. With worker processes, the fourth column is the part of it spent in the "
        "process that runs the model (handing files to the workers and back, batching): "
        "serial work that more workers do not share, so it bounds the records/s of a run on "
        "any number of cores to 1000 / that figure. Worker threads share one interpreter "
        "lock: more of them add CPU per record, not records/s; worker processes add records/s "
        "(on a GPU, where host work is the limit, runs of 300 files or more get them).\n\n"
        + table(
            [
                "workers",
                "host CPU per record (ms)",
                "each further record (ms)",
                "of which the model's process (ms)",
                "records/s, host side alone",
            ],
            rows,
        )
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
    parser.add_argument("--processes", type=int, nargs="*", default=[2], help="worker processes")
    parser.add_argument("--profile", type=int, metavar="N", help="profile host work on N records")
    parser.add_argument("--archive", type=float, nargs=2, default=[130, 29], metavar=("N", "MIN"))
    parser.add_argument("--archive-child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--listing", type=int, default=100_000, help="records (listing)")
    args = parser.parse_args()
    if args.archive_child:  # the archive part's fresh process
        folder, name, out = args.archive_child
        archive_child(Path(folder), Path(out), name)
        return
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
    if "archive" in args.only:
        records, minutes = int(args.archive[0]), args.archive[1]
        done(archive_section(archive_part(records, minutes, scratch), records, minutes))
    if "listing" in args.only:
        done(listing_section(args.listing, scratch, args.repeats))
    if {"batch", "host"} & set(args.only):
        folder = write_records(scratch / "in", args.records)
        model, replay = replayed(args.model)
        if "batch" in args.only:
            options = ["--model", args.model] if args.model else []
            done(batch_section(batch_part(model, replay, folder, scratch, args.repeats, options)))
        if "host" in args.only:
            counts = args.workers, args.processes
            done(host_section(host_part(model, folder, scratch, *counts, args.repeats)))
    return sections


if __name__ == "__main__":
    main()
