"""The batch engine behind ``ecg12 reconstruct``: many files, full batches, one result per file.

Workers (threads, or processes) read, check and condition the next groups of files while the
models run one group, whose windows share full batches per model, and write the group before
it. Each file gets its own model unless one is named, each model loaded once (:class:`Models`).
Memory is bounded by windows in flight, however many files there are and however long (groups
and model runs of about :data:`PART_WINDOWS` windows), and a file longer than
:data:`STREAM_ABOVE_S` streams through in blocks instead. A failure is a result of
its file. What workers run (:func:`read_file`, :func:`write_file`) are plain functions of
picklable arguments, so worker processes run them as threads do.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from threading import Lock
from typing import Any, TypeVar

import numpy as np

from ecg12.errors import Ecg12Error, InputError
from ecg12.model import Device, Model, load
from ecg12.outputs import Staging
from ecg12.pipeline import Prepared, assemble, prepare_lead, run_model
from ecg12.registry import Registry
from ecg12.result import Reconstruction
from ecg12.sources import ReadOptions, choose_model, open_for, open_recording
from ecg12.stream import SEGMENT_S, Stream
from ecg12.windows import window_starts
from ecg12.writers import OutputFormat, record_files

#: Files per group: ~450 windows of 10 s records (7 each for EKGAN), so that the CPU's batches
#: (32) are full; on CUDA a group is one batch. Fewer for long records (:class:`Grouping`).
GROUP = 64
#: Files per group while no file of the run has been read: its size is not known yet.
FIRST_GROUP = 8
#: Groups being read while the model runs an earlier one.
READ_AHEAD = 2
#: Windows per model run at most: a group of long records runs in parts, so that the window
#: predictions alive at once (the part at the model and the one being written, 24.6 kB a window
#: for EKGAN) stay under ~200 MB however long the records; a group of 64 half-hour records
#: held 1.8 GB of them. A record with more windows than this runs alone. Groups are sized to
#: about this many windows too, which bounds the inputs read ahead.
PART_WINDOWS = 4096
#: Inputs longer than this stream through in blocks (the whole-record path holds ~1.2 GB/h).
STREAM_ABOVE_S = SEGMENT_S
#: What one file may fail with without stopping the others; anything else is a bug.
FILE_ERRORS = (Ecg12Error, OSError, ValueError)

T = TypeVar("T")
#: A file's place in a worker task: the task's future, and the file's index in it.
Handle = tuple[Future, int]
#: What reading a file gave: its model's name and its prepared input (None: it streams), or
#: None where reading failed.
Read = tuple[str, Prepared | None] | None
#: Tasks per worker that a group's reads (or writes) are cut into: a few, so that a slow file
#: holds up only its own share.
TASKS_PER_WORKER = 2
#: Runs of at least this many files on a GPU get worker processes unless told otherwise. Threads
#: share one interpreter lock, so host work does not scale over cores with them. With the network
#: replayed (an infinitely fast GPU: ``python tests/benchmark_performance.py --only host
#: --records N --workers 1 2 --processes 2`` on 2 cores), host records/s for N = 100 / 300 /
#: 1,000: 1 thread 256 / 241 / 234, 2 threads 195 / 198 / 193, 2 processes 149 / 267 / 345.
#: Each process starts in about a second: they pay from about 300 files, and more with more cores.
PROCESSES_FROM = 300


def use_processes(device: str, files: int) -> bool:
    """Whether a run's workers should be processes when the user did not say: on a GPU, where
    host work is the limit, for runs long enough to repay starting them. On the CPU the network
    is the limit (~90 % of the CPU) and threads keep up with it."""
    return device == "cuda" and files >= PROCESSES_FROM


def usable_cores() -> int:
    """The cores this process may run on (a container's or ``taskset``'s share, where the
    system says), which is what the default number of workers follows."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@dataclass
class Job:
    """One input and what became of it: ``status`` is ok, failed or skipped.

    A job made with an ``error`` has failed before it starts.
    """

    path: Path
    stem: Path  # the output stem, out/<name>_12lead
    status: str = "pending"
    error: Exception | None = None
    result: Reconstruction | None = None  # provenance, warnings, trust: no samples
    written: list[Path] = field(default_factory=list)
    seconds: float = 0.0  # host time spent on this file (reading to writing, not the model)
    samples: int = 0  # output samples written (results hold none)


class Models:
    """The models of a run, each loaded once, on first need: ``first`` (the one named, or the
    registry's default) and whichever others the files' choices name."""

    def __init__(self, first: Model, registry: Registry, device: Device) -> None:
        self.registry, self.device = registry, device
        self._loaded: dict[str, Model | Ecg12Error] = {first.name: first}
        self._lock = Lock()

    def get(self, name: str) -> Model:
        """Model ``name``, loaded once; a model that failed to load fails every file needing it."""
        with self._lock:
            if name not in self._loaded:
                try:
                    self._loaded[name] = load(name, device=self.device, registry=self.registry)
                except Ecg12Error as exc:
                    self._loaded[name] = exc
            found = self._loaded[name]
        if isinstance(found, Ecg12Error):
            raise found
        return found


@dataclass(frozen=True)
class Plan:
    """What every file of a run shares, picklable so that worker processes can take it: the
    registry, the model named for every file (None: each file's own choice), reading options,
    output rate and format."""

    registry: Registry
    named: str | None
    options: ReadOptions
    rate: float
    notch_hz: float | None
    fmt: OutputFormat
    draw: bool
    overwrite: bool


def read_file(plan: Plan, path: Path) -> tuple[str, Prepared | None]:
    """Choose the model for a file, then read, check and condition it: the model's name and the
    prepared input, or None for a file long enough to stream (the main process streams it)."""
    opened = open_recording(path, plan.options)
    name = plan.named or choose_model(plan.registry, opened, plan.options)
    card = plan.registry.card(name)
    lead = open_for(card.inputs, opened, plan.options)
    if lead.n > STREAM_ABOVE_S * lead.fs:
        if plan.fmt != "wfdb" or plan.draw:
            raise InputError(
                f"longer than {STREAM_ABOVE_S / 60:g} minutes: such records stream "
                "to WFDB only, without --plot",
                path,
            )
        return name, None
    prepared = prepare_lead(lead, card.preprocessing, plan.notch_hz)
    # Read whole now: its reader (a closure over the open file) need not cross to the caller.
    return name, replace(prepared, lead=replace(prepared.lead, _read=None))


def write_file(
    plan: Plan,
    name: str,
    prepared: Prepared,
    windows: np.ndarray,
    stem: Path,
    area: Path | None,
) -> tuple[Reconstruction, list[Path], int]:
    """Assemble one file's result from model ``name``'s window predictions and write it under
    ``stem``, staged in the run's ``area`` (None: a temporary folder of its own).

    Returns the result without its samples, which are written (what the run reports and
    summarises needs none of them, and a worker process would send 240 kB per ten-second
    record back), the written paths and the number of samples written.
    """
    result = assemble(plan.registry.card(name), prepared, windows, plan.rate)
    folder, fmt, draw = stem.parent, plan.fmt, plan.draw
    written = result.write(folder, fmt, plan.overwrite, stem.name, plot=draw, area=area)
    kept = replace(result, p_signal=result.p_signal[:0].copy())  # a copy: a view holds them all
    return kept, written, len(result.p_signal)


def _timed(work: Callable[..., T], *args: Any) -> tuple[float, T | None, Exception | None]:
    """``work(*args)`` in a worker: seconds taken, and its value or the error of its file."""
    started = time.perf_counter()
    try:
        value = work(*args)
    except FILE_ERRORS as exc:
        return time.perf_counter() - started, None, exc
    return time.perf_counter() - started, value, None


#: The run's plan in a worker process, left there by :func:`_keep_plan` when it starts.
_PLAN: Plan | None = None


def _keep_plan(plan: Plan) -> None:
    global _PLAN
    _PLAN = plan


def _timed_each(
    work: Callable[..., T], plan: Plan | None, calls: list[tuple[Any, ...]]
) -> list[tuple[float, T | None, Exception | None]]:
    """:func:`_timed` ``work(plan, *args)`` for each file's ``args`` of a task, one file after
    the other; in a worker process (``plan`` None) with the plan it was started with."""
    return [_timed(work, plan or _PLAN, *args) for args in calls]


@dataclass
class Grouping:
    """Cuts a run's files into groups as each group is submitted: :data:`GROUP` files, fewer
    where a file read so far had many windows, so that a group holds about
    :data:`PART_WINDOWS` (three half-hour records, not 64); :data:`FIRST_GROUP` while no
    file's size is known (the first ``READ_AHEAD + 1`` groups). What the workers hold read ahead
    is then bounded by windows, not files."""

    most: int = 0  # the most windows one file of the run has had so far

    def groups(self, jobs: list[Job]) -> Iterator[list[Job]]:
        k = 0
        while k < len(jobs):
            size = min(GROUP, max(1, PART_WINDOWS // self.most)) if self.most else FIRST_GROUP
            yield jobs[k : k + size]
            k += size


@dataclass(frozen=True)
class Batch:
    """A run: its plan and models, and how many workers read and write (threads, or processes
    where host work must scale over cores: each process starts in about a second)."""

    plan: Plan
    models: Models
    workers: int
    processes: bool = False

    def run(
        self, jobs: list[Job], skip_existing: bool, outdir: Path | None = None
    ) -> Iterator[Job]:
        """Yield each job once it is finished, in input order. Outputs in subfolders of
        ``outdir`` are staged in its temporary folder (:class:`~ecg12.outputs.Staging`).

        A pipeline: the groups after the one at the model are being read (:data:`READ_AHEAD`),
        and the group (or part of one, :meth:`_parts`) before the one at the model still being
        written while the model runs, so the workers do not wait for the model's process
        between groups (an H200 with 16 cores took 10,000 records
        at 1,060-1,260 records/s this way, with batches of 1,024; at 880-910 settling each
        group before the next, with batches of 256).
        """
        grouping = Grouping()
        groups = grouping.groups(jobs)
        with Staging(outdir) as staging, self._pool() as pool:  # the pool's writes end first
            reading = deque(
                self._submit(pool, g, skip_existing) for g in islice(groups, READ_AHEAD)
            )
            writing: list[tuple[Job, Handle | None, Read]] | None = None
            while reading:
                if (group := next(groups, None)) is not None:
                    reading.append(self._submit(pool, group, skip_existing))
                for part in self._parts(reading.popleft(), grouping):
                    started = self._run_models(pool, part, staging)
                    if writing is not None:
                        yield from self._settle_writes(writing, staging)
                    writing = started
            if writing is not None:
                yield from self._settle_writes(writing, staging)

    def _pool(self) -> Executor:
        if not self.processes:
            return ThreadPoolExecutor(self.workers)
        # spawn, not fork: forking a process that runs onnxruntime's threads is unsafe
        spawn = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(self.workers, spawn, _keep_plan, (self.plan,))

    def _start(
        self, pool: Executor, work: Callable[..., T], calls: list[tuple[Any, ...]]
    ) -> list[Handle]:
        """``work(plan, *args)`` for each file's ``args``, timed (:func:`_timed`), in a few
        tasks of several files each: handing a task to a worker process and taking it back
        cost the process running the model ~0.35 ms of CPU (a task per file: 1.4 ms per file
        with 2 processes, now 0.8). A worker process has the plan from its start: sent with
        every file, it (the registry, ~50 kB) cost ~0.8 ms of CPU per file to pickle and
        unpickle."""
        if not calls:
            return []
        size = -(-len(calls) // (TASKS_PER_WORKER * self.workers))
        plan = None if self.processes else self.plan
        handles: list[Handle] = []
        for k in range(0, len(calls), size):
            task_calls = calls[k : k + size]
            task = pool.submit(_timed_each, work, plan, task_calls)
            handles += [(task, i) for i in range(len(task_calls))]
        return handles

    def _submit(
        self, pool: Executor, group: list[Job], skip_existing: bool
    ) -> list[tuple[Job, Handle | None]]:
        todo = []
        for job in group:
            if job.error is not None:
                job.status = "failed"
            elif skip_existing and all(t.exists() for t in record_files(job.stem, self.plan.fmt)):
                job.status = "skipped"
            else:
                todo.append(job)
        reads = self._start(pool, read_file, [(job.path,) for job in todo])
        handles = dict(zip(map(id, todo), reads, strict=True))
        return [(job, handles.get(id(job))) for job in group]

    def _parts(
        self, group: list[tuple[Job, Handle | None]], grouping: Grouping
    ) -> Iterator[list[tuple[Job, Read]]]:
        """A group's files with what reading them gave, in order, cut into parts of at most
        :data:`PART_WINDOWS` windows (a longer file alone), each file's windows told to
        ``grouping``; each read is waited for only when its part is next."""
        part: list[tuple[Job, Read]] = []
        windows = 0
        for job, handle in group:
            item = _settle(job, handle)
            size = 0
            if item is not None and item[1] is not None:
                spec = self.plan.registry.card(item[0]).preprocessing
                size = len(window_starts(len(item[1].conditioned), spec.window, spec.stride))
                grouping.most = max(grouping.most, size)
            if part and windows + size > PART_WINDOWS:
                yield part
                part, windows = [], 0
            part.append((job, item))
            windows += size
        if part:
            yield part

    def _run_models(
        self, pool: Executor, part: list[tuple[Job, Read]], staging: Staging
    ) -> list[tuple[Job, Handle | None, Read]]:
        """Run each model on a part's windows and start writing its files: each job with its
        write (None: nothing to write) and what reading it gave."""
        ready: dict[str, list[tuple[Job, Prepared]]] = {}  # each model's files together
        for job, item in part:
            if item is not None and item[1] is not None:
                ready.setdefault(item[0], []).append((job, item[1]))
        writes: dict[int, Handle] = {}
        for name, mine in ready.items():
            try:
                model = self.models.get(name)
            except Ecg12Error as exc:
                for job, _ in mine:
                    job.status, job.error = "failed", exc
                continue
            raw = run_model(model, [p for _, p in mine])
            calls = [
                (name, prepared, windows, job.stem, _area(staging, job.stem.parent))
                for (job, prepared), windows in zip(mine, raw, strict=True)
            ]
            started = self._start(pool, write_file, calls)
            writes.update(zip((id(job) for job, _ in mine), started, strict=True))
        return [(job, writes.get(id(job)), item) for job, item in part]

    def _settle_writes(
        self, part: list[tuple[Job, Handle | None, Read]], staging: Staging
    ) -> Iterator[Job]:
        """Yield a part's jobs as their writes finish; a file long enough to stream streams
        here, in this process (its blocks run the model)."""
        for job, write, item in part:
            if write is not None:
                if (written := _settle(job, write)) is not None:
                    job.result, job.written, job.samples = written
                    job.status = "ok"
            elif item is not None and item[1] is None and job.error is None:
                self._stream(job, item[0], staging)
            yield job

    def _stream(self, job: Job, name: str, staging: Staging) -> None:
        started = time.perf_counter()
        try:
            model = self.models.get(name)
            opened = open_recording(job.path, self.plan.options)
            lead = open_for(model.inputs, opened, self.plan.options)
            stream = Stream(model, lead, self.plan.rate, self.plan.notch_hz)
            area = _area(staging, job.stem.parent)
            job.written = stream.write(job.stem.parent, job.stem.name, self.plan.overwrite, area)
            job.result, job.samples, job.status = stream.result, stream.sig_len, "ok"
        except FILE_ERRORS as exc:
            job.status, job.error = "failed", exc
        finally:
            job.seconds += time.perf_counter() - started


def _area(staging: Staging, folder: Path) -> Path | None:
    """The run's staging folder in ``folder``; None where it cannot be made, so that each
    file's own attempt reports why."""
    try:
        return staging.area(folder)
    except OSError:
        return None


def _settle(job: Job, handle: Handle | None) -> Any:
    """A worker's value for ``job`` (None where it failed, or was never submitted), its time
    added to the job's and its error made the job's."""
    if handle is None:
        return None
    task, i = handle
    seconds, value, error = task.result()[i]
    job.seconds += seconds
    if error is not None:
        job.status, job.error = "failed", error
    return value
