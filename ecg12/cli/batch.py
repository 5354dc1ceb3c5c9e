"""The batch engine behind ``ecg12 reconstruct``: many files, full batches, one result per file.

Worker threads read, check and condition a group of files while the models run the previous
group, whose windows share full batches per model; the same threads assemble and write the
results. Each file gets its own model unless one is named (:class:`Models`), each model loaded
once. Memory is bounded by the group, however many files there are, and a file longer than
:data:`STREAM_ABOVE_S` streams through in blocks instead. A failure is a result of its file.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock

from ecg12.errors import Ecg12Error, InputError
from ecg12.inference import Stitched
from ecg12.model import Model, load
from ecg12.pipeline import Prepared, assemble, prepare_lead, run_model
from ecg12.registry import Registry
from ecg12.result import Reconstruction
from ecg12.sources import LeadSource, Opened, ReadOptions, choose_model, open_for, open_recording
from ecg12.stream import SEGMENT_S, Stream
from ecg12.writers import record_files

#: Files per group: ~600 windows of 10 s records, so every batch the model sees is full.
GROUP = 64
#: Inputs longer than this stream through in blocks (the whole-record path holds ~1.2 GB/h).
STREAM_ABOVE_S = SEGMENT_S
#: What one file may fail with without stopping the others; anything else is a bug.
FILE_ERRORS = (Ecg12Error, OSError, ValueError)


@dataclass
class Job:
    """One input and what became of it: ``status`` is ok, failed or skipped.

    A job made with an ``error`` has failed before it starts.
    """

    path: Path
    stem: Path  # the output stem, out/<name>_12lead
    status: str = "pending"
    error: Exception | None = None
    result: Reconstruction | None = None
    written: list[Path] = field(default_factory=list)
    seconds: float = 0.0  # host time spent on this file (reading to writing, not the model)
    samples: int = 0  # output samples, also for a streamed record (its result holds none)


class Models:
    """The models of a run: ``named`` for every file, or else each file's choice (Lead I alone:
    the registry's default; other leads: its any-lead default), each loaded once, on first need,
    from whichever worker thread needs it first."""

    def __init__(self, first: Model, registry: Registry, device: str, named: bool) -> None:
        self.first, self.registry, self.device, self.named = first, registry, device, named
        self._loaded: dict[str, Model | Ecg12Error] = {first.name: first}
        self._lock = Lock()

    def for_input(self, opened: Opened, options: ReadOptions) -> Model:
        """The model for one input."""
        if self.named:
            return self.first
        return self.get(choose_model(self.registry, opened, options))

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
class Batch:
    """What every file of a run shares: models, reading options, output rate and format."""

    models: Models
    options: ReadOptions
    rate: float
    notch_hz: float | None
    fmt: str
    draw: bool
    overwrite: bool

    def run(self, jobs: list[Job], workers: int, skip_existing: bool) -> Iterator[Job]:
        """Yield each job once it is finished, in input order."""
        groups = [jobs[k : k + GROUP] for k in range(0, len(jobs), GROUP)]
        with ThreadPoolExecutor(workers) as pool:
            pending = self._submit(pool, groups[0], skip_existing) if groups else []
            for k in range(len(groups)):
                current = pending
                if k + 1 < len(groups):  # read the next group while the model runs this one
                    pending = self._submit(pool, groups[k + 1], skip_existing)
                yield from self._finish_group(pool, current)

    def _submit(
        self, pool: ThreadPoolExecutor, group: list[Job], skip_existing: bool
    ) -> list[tuple[Job, Future | None]]:
        out: list[tuple[Job, Future | None]] = []
        for job in group:
            if job.error is not None:
                job.status = "failed"
                out.append((job, None))
            elif skip_existing and all(t.exists() for t in record_files(job.stem, self.fmt)):
                job.status = "skipped"
                out.append((job, None))
            else:
                out.append((job, pool.submit(self._prepare, job)))
        return out

    def _prepare(self, job: Job) -> tuple[Model, Prepared | LeadSource] | None:
        """Choose the model for a file, then read, check and condition it; a long one comes back
        opened, to be streamed."""
        started = time.perf_counter()
        try:
            opened = open_recording(job.path, self.options)
            model = self.models.for_input(opened, self.options)
            lead = open_for(model.inputs, opened, self.options)
            if lead.n > STREAM_ABOVE_S * lead.fs:
                if self.fmt != "wfdb" or self.draw:
                    raise InputError(
                        f"longer than {STREAM_ABOVE_S / 60:g} minutes: such records stream "
                        "to WFDB only, without --plot",
                        job.path,
                    )
                return model, lead
            return model, prepare_lead(lead, model.spec, self.notch_hz)
        except FILE_ERRORS as exc:
            job.status, job.error = "failed", exc
            return None
        finally:
            job.seconds += time.perf_counter() - started

    def _finish_group(
        self, pool: ThreadPoolExecutor, group: list[tuple[Job, Future | None]]
    ) -> Iterator[Job]:
        items = [(job, None if future is None else future.result()) for job, future in group]
        ready = [(job, *item) for job, item in items if item and isinstance(item[1], Prepared)]
        writes = {}
        for model in {id(m): m for _, m, _ in ready}.values():  # each model's files together
            mine = [(job, p) for job, m, p in ready if m is model]
            raw = run_model(model, [p for _, p in mine])
            for (job, prepared), stitched in zip(mine, raw, strict=True):
                writes[id(job)] = pool.submit(self._write, job, model, prepared, stitched)
        for job, item in items:
            if item and isinstance(item[1], LeadSource):
                self._stream(job, *item)
            elif id(job) in writes:
                writes[id(job)].result()
            yield job

    def _write(self, job: Job, model: Model, prepared: Prepared, stitched: Stitched) -> None:
        started = time.perf_counter()
        try:
            job.result = assemble(model, prepared, stitched, self.rate)
            job.samples = job.result.p_signal.shape[0]
            job.written = job.result.write(
                job.stem.parent, self.fmt, self.overwrite, job.stem.name, plot=self.draw
            )
            job.status = "ok"
        except FILE_ERRORS as exc:
            job.status, job.error = "failed", exc
        finally:
            job.seconds += time.perf_counter() - started

    def _stream(self, job: Job, model: Model, lead: LeadSource) -> None:
        started = time.perf_counter()
        try:
            stream = Stream(model, lead, self.rate, self.notch_hz)
            job.written = stream.write(job.stem.parent, job.stem.name, self.overwrite)
            job.result, job.samples, job.status = stream.result, stream.sig_len, "ok"
        except FILE_ERRORS as exc:
            job.status, job.error = "failed", exc
        finally:
            job.seconds += time.perf_counter() - started
