"""``ecg12 reconstruct``: recordings of Lead I (or any standard leads) in, 12-lead records (and
pictures) out."""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from ecg12.cli.errors import fail, message, sweep_leftovers, user_errors
from ecg12.cli.options import input_options
from ecg12.cli.summary import summary_table
from ecg12.errors import InputError, printable
from ecg12.model import DEVICES, load
from ecg12.pipeline import check_out_fs
from ecg12.readers import check_rate
from ecg12.registry import load_registry
from ecg12.result import Reconstruction
from ecg12.sources import read_options

if TYPE_CHECKING:
    from ecg12.cli.batch import Job

FORMATS = ("wfdb", "csv", "npz")
# What a directory is searched for: WFDB headers stand for their records; signal files
# (.dat/.mat) are only read through their header.
INPUT_SUFFIXES = (".hea", ".edf", ".csv", ".tsv", ".txt", ".npy")


def output_names(files: dict[Path, Path]) -> dict[Path, str]:
    """Each input's output stem relative to OUTDIR, '/'-separated: its folder there (``files``
    maps each input to it) and ``<stem>_12lead``. Inputs sharing a stem but not a suffix in one
    output folder (rec.hea, rec.csv) keep their suffix (``rec_hea_12lead``). Stems are compared
    ignoring case. Strings, not paths: an archive has hundreds of thousands."""
    suffixes: dict[tuple[Path, str], set[str]] = {}
    for f, sub in files.items():
        suffixes.setdefault((sub, f.stem.casefold()), set()).add(f.suffix.lower())
    names = {}
    for f, sub in files.items():
        stem, folder = f.stem, sub.as_posix()
        if len(suffixes[sub, stem.casefold()]) > 1:
            stem = f"{stem}_{f.suffix.lstrip('.').lower()}"
        names[f] = f"{stem}_12lead" if folder == "." else f"{folder}/{stem}_12lead"
    return names


def name_clashes(names: dict[Path, str]) -> dict[Path, InputError]:
    """The inputs whose output an earlier input of the run has, each with its error.

    Names are compared ignoring case, as macOS and Windows compare file names. The first input
    keeps the name; renaming the others silently would make outputs hard to trace back.
    """
    first: dict[str, Path] = {}
    clashes = {}
    for path, name in names.items():
        earlier = first.setdefault(name.casefold(), path)
        if earlier != path:
            clashes[path] = InputError(
                f"its output name {name} is already that of "
                f"{printable(str(earlier))} in this run; reconstruct the two in separate runs or "
                "into separate --outdir folders",
                path,
            )
    return clashes


def expand_inputs(
    items: tuple[str, ...], recursive: bool = False, outdir: Path | None = None
) -> dict[Path, Path]:
    """Files as given, directories searched (with their subfolders if ``recursive``), glob
    patterns expanded: each file, with the folder its outputs go to, relative to OUTDIR (a
    file found in a subfolder of a folder given keeps that subfolder; any other, none).

    A search never takes files from ``outdir`` where it lies inside the folder searched: a
    second run would reconstruct the first one's outputs.
    """
    found: dict[Path, Path] = {}
    here = Path()
    for item in items:
        path = Path(item)
        if path.is_dir():
            top, skip = os.fspath(path), _place_in(outdir, path)
            folders: dict[tuple[str, ...], Path] = {(): here}  # each subfolder made once
            for parts in sorted(_search(top, (), recursive, skip), key=_in_path_order):
                if (sub := folders.get(parts[:-1])) is None:
                    sub = folders[parts[:-1]] = Path(*parts[:-1])
                found.setdefault(Path(os.path.join(top, *parts)), sub)
        elif any(c in item for c in "*?[") and not path.exists():
            for p in sorted(Path(p) for p in glob.glob(item)):
                found.setdefault(_record_of(p), here)
        else:
            found.setdefault(_record_of(path), here)
    return found


def _record_of(path: Path) -> Path:
    """A WFDB signal file (.dat, .mat) stands for its record: read once, through its header.
    (A search never finds one: it looks for headers.)"""
    if path.suffix.lower() in (".dat", ".mat") and (header := path.with_suffix(".hea")).exists():
        return header
    return path


def _search(
    folder: str, inside: tuple[str, ...], recursive: bool, skip: tuple[str, ...]
) -> Iterator[tuple[str, ...]]:
    """The files with an input suffix in ``folder`` (and its subfolders if ``recursive``, not
    following links to folders, nor going into ``skip``), as their path from the folder
    searched (``inside``: this folder's). A folder this user may not read holds nothing, as
    for ``Path.rglob``. Strings and ``os.scandir``, whose entries know whether they are files:
    ``Path.rglob`` took 9.9 s for 100,000 records in nested folders, this 3.9 s
    (``python tests/benchmark_performance.py --only listing``)."""
    try:
        with os.scandir(folder) as entries:
            listed = list(entries)
    except PermissionError:
        return
    for entry in listed:
        parts = (*inside, entry.name)
        if entry.is_file():
            if os.path.splitext(entry.name)[1].lower() in INPUT_SUFFIXES:
                yield parts
        elif recursive and entry.is_dir(follow_symlinks=False) and parts != skip:
            yield from _search(entry.path, parts, recursive, skip)


def _in_path_order(parts: tuple[str, ...]) -> list[str]:
    """The order ``sorted`` gives :class:`~pathlib.Path` objects: part by part, ignoring case
    where the system does."""
    return [os.path.normcase(part) for part in parts]


def _place_in(outdir: Path | None, folder: Path) -> tuple[str, ...]:
    """Where ``outdir`` lies inside ``folder`` (its path from there); empty if it does not
    (or is ``folder`` itself, whose outputs cannot be told from inputs by place)."""
    if outdir is None:
        return ()
    try:
        return outdir.resolve().relative_to(folder.resolve()).parts
    except ValueError:
        return ()


def make_jobs(files: dict[Path, Path], outdir: Path) -> list[Job]:
    """A job per input (``files``: each with its output folder relative to ``outdir``); one
    whose output name an earlier input has fails from the start. Only the jobs outlive this:
    an archive's list of files is held once."""
    from ecg12.cli.batch import Job

    names = output_names(files)
    clashes = name_clashes(names)
    return [Job(path, outdir / names[path], error=clashes.get(path)) for path in files]


@click.command("reconstruct")
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "-o",
    "--outdir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the results (created if missing).",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="wfdb", show_default=True)
@click.option("--plot", "draw", is_flag=True, help="Also draw each result as a clinical PNG.")
@click.option(
    "--model",
    "model_name",
    default=None,
    help="Model for every file (see `ecg12 models`); default: per file, the registry's default "
    "for Lead I alone, its any-lead model for other leads.",
)
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True)
@input_options
@click.option(
    "--accept-other-lead",
    is_flag=True,
    help="Run a Lead I model on a channel named as another lead (II, MLII, V1...); outputs say so.",
)
@click.option("--out-fs", type=float, default=500.0, show_default=True, help="Output rate (Hz).")
@click.option(
    "--notch",
    type=click.Choice(["50", "60"]),
    default=None,
    help="Remove 50 or 60 Hz mains interference before reconstruction.",
)
@click.option(
    "-r",
    "--recursive",
    is_flag=True,
    help="Search folders and their subfolders; outputs go to the same subfolders of OUTDIR.",
)
@click.option(
    "--skip-existing", is_flag=True, help="Skip inputs whose outputs exist (resume a run)."
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Workers reading, checking and writing files [default: the usable cores].",
)
@click.option(
    "--processes/--threads",
    default=None,
    help="Run the workers as processes (host work then scales over the cores; each starts in "
    "about a second) or threads [default: processes for 300 files or more on a GPU].",
)
@click.option(
    "--summary",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write a CSV with one row per input (status, error, duration, warnings, errors).",
)
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
def command(
    inputs: tuple[str, ...],
    outdir: Path,
    fmt: str,
    draw: bool,
    model_name: str | None,
    device: str,
    lead: str | None,
    leads: str | None,
    fs: float | None,
    units: str | None,
    gain: float | None,
    accept_other_lead: bool,
    out_fs: float,
    notch: str | None,
    recursive: bool,
    skip_existing: bool,
    workers: int | None,
    processes: bool | None,
    summary: Path | None,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Reconstruct the 12-lead ECG of each recording in INPUTS (files, folders, globs).

    Every standard lead a file names is used (--leads to choose): Lead I alone by the default
    model, other leads by the registry's any-lead model. Windows of many files share the
    model's batches; files longer than half an hour stream through in bounded memory (WFDB
    output). One bad file never stops the others.
    """
    from ecg12.cli.batch import Batch, Models, Plan, usable_cores, use_processes

    out = Console(quiet=quiet, highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if any(not item.strip() for item in inputs):
        fail("an input name is empty")
    jobs = make_jobs(expand_inputs(inputs, recursive, outdir), outdir)
    if not jobs:
        fail("no input files found")
    if summary is not None and summary.exists() and not overwrite:
        fail(f"{summary} exists; pass --overwrite to replace it")
    with user_errors():
        rate = check_out_fs(out_fs)
        if fs is not None:
            check_rate(fs, "--fs")
        options = read_options(fs, lead, leads, accept_other_lead, units, gain)
        registry = load_registry()
        model = load(model_name, device=device, registry=registry)
    if model.device_note and not quiet:
        err.print(f"note: {model.device_note}", markup=False)
    for folder in dict.fromkeys([outdir, *([summary.parent] if summary else [])]):
        sweep_leftovers(folder, quiet)
    named = model.name if model_name is not None else None
    mains = float(notch) if notch else None
    plan = Plan(registry, named, options, rate, mains, fmt, draw, overwrite)
    if processes is None:
        processes = use_processes(model.device, len(jobs))
    batch = Batch(plan, Models(model, registry, device), workers or usable_cores(), processes)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[speed]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    failed = 0
    with user_errors(OSError), ExitStack() as stack:  # the summary appears as the stack ends
        add_row = stack.enter_context(summary_table(summary, overwrite)) if summary else None
        progress = stack.enter_context(
            Progress(*columns, console=err, disable=quiet, transient=True)
        )
        task = progress.add_task("reconstructing", total=len(jobs), speed="")
        started = time.perf_counter()
        for done, job in enumerate(batch.run(jobs, skip_existing, outdir), 1):
            speed = done / max(time.perf_counter() - started, 1e-9)
            progress.update(task, advance=1, speed=f"{speed:.1f} rec/s")
            failed += job.error is not None
            _report(job, out, progress.console, quiet)
            if add_row is not None:
                add_row(job)
            job.result, job.written = None, []  # reported: a run keeps nothing per file
    if failed:
        err.print(f"{failed} of {len(jobs)} inputs failed", markup=False)
        raise SystemExit(1)


def _report(job: Job, out: Console, console: Console, quiet: bool) -> None:
    """What became of one input: its error or its warnings (on ``console``, the progress
    bar's), and unless ``quiet`` where its outputs went and its expected error."""
    if job.error is not None:
        console.print(f"error: {_one_line(job.error, job.path)}", markup=False)
        return
    if job.status == "skipped":
        out.print(f"{printable(str(job.path))}: outputs exist, skipped", markup=False)
        return
    assert job.result is not None  # ok
    for warning in job.result.warnings:
        console.print(f"warning: {warning}", markup=False)
    if quiet:  # rich renders what a quiet console then drops: ~4 ms a record
        return
    paths = ", ".join(printable(str(p)) for p in job.written)
    out.print(f"{printable(str(job.path))} -> {paths}{_leads(job.result)}", markup=False)
    if job.result.trust_table():
        out.print(trust_table(job.result))


GRADE_STYLE = {"good": "green", "fair": "yellow", "poor": "bold red"}


def _leads(rec: Reconstruction) -> str:
    """What an any-lead reconstruction came from, for its output line ("" for a Lead I model)."""
    if rec.given_leads is None:
        return ""
    return f" (model {rec.model}, measured {', '.join(rec.given_leads)})"


def trust_table(rec: Reconstruction) -> Text:
    """One compact table per file: expected error (mV) and grade of each reconstructed lead,
    fitting 80 columns. Laid out by hand: a ``rich`` Table took 3.7 ms to print, as much host
    work as a whole ten-second record, in the process that runs the model."""
    rows = [(n, f"{e:.3f}", g) for n, e, g in rec.trust_table() if n not in rec.measured_leads]
    columns = [(*row, max(map(len, row))) for row in rows]  # name, error, grade, width
    label = len("error mV")
    header = " " * label + "".join(f" {name:>{w}}" for name, _, _, w in columns)
    text = Text()
    text.append(header, style="bold")
    text.append("\nerror mV" + "".join(f" {e:>{w}}" for _, e, _, w in columns))
    text.append("\n" + "grade".ljust(label))
    for _, _, grade, w in columns:
        text.append(" " * (1 + w - len(grade)))
        text.append(grade, style=GRADE_STYLE[grade])
    return text


def _one_line(exc: Exception, path: Path) -> str:
    text = message(exc)
    name = printable(str(path))
    return text if name in text else f"{name}: {printable(text)}"
