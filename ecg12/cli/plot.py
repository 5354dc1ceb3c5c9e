"""``ecg12 plot``: print a 12-lead WFDB record as a clinical ECG (png, pdf or svg)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from ecg12.cli.errors import fail, sweep_leftovers, user_errors
from ecg12.plot import FORMATS, plot_12lead, read_12lead, read_printout


@click.command("plot")
@click.argument("record", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Output file; the format follows its suffix ({', '.join(FORMATS)}).",
)
@click.option(
    "--compare",
    "reference",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A real 12-lead record to overlay (e.g. the ECG a reconstruction came from).",
)
@click.option(
    "--start",
    type=float,
    default=0.0,
    show_default=True,
    help="Seconds into the record where the 10 s printout starts.",
)
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
@click.option("--title", help="Title printed above the grid (default: the record name).")
def command(
    record: Path,
    output: Path,
    reference: Path | None,
    start: float,
    overwrite: bool,
    title: str | None,
) -> None:
    """Plot RECORD (a 12-lead WFDB record: ours, PTB-XL, CinC, PTB...) at 25 mm/s, 10 mm/mV.

    A reconstruction's disclaimer, grades and warnings, kept in its header, are printed too.
    """
    if output.exists() and not overwrite:
        fail(f"{output} exists; pass --overwrite to replace it")
    sweep_leftovers(output.parent)
    name = record.stem
    with user_errors(ValueError, OSError):
        printout = read_printout(record)
        compare, compare_fs = read_12lead(reference) if reference else (None, None)
        plot_12lead(
            printout.signal,
            printout.fs,
            output,
            compare=compare,
            compare_fs=compare_fs,
            start_s=start,
            title=title or name,
            labels=(name, reference.stem if reference else ""),
            grades=printout.grades,
            disclaimer=printout.disclaimer,
            notes=printout.warnings,
            measured=printout.measured,
            overwrite=overwrite,
        )
    Console(soft_wrap=True, highlight=False).print(f"wrote {output}", markup=False)
