"""``ecg12 info``: what a recording holds and whether its Lead I is fit for reconstruction."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ecg12.cli.errors import user_errors
from ecg12.cli.options import input_options
from ecg12.quality import check_lead
from ecg12.readers import Recording, lead_role, read_recording, select_lead

#: info judges any lead of at least one second; reconstruct applies its model's window.
MIN_SECONDS = 1.0
ROLES = {
    "I": "Lead I",
    "unnamed": "no lead name: reconstruct takes it as Lead I",
    "other": "not Lead I: reconstruct needs --accept-other-lead",
}


@click.command("info")
@click.argument("input_path", metavar="INPUT")
@input_options
def command(
    input_path: str, lead: str | None, fs: float | None, units: str | None, gain: float | None
) -> None:
    """Show the format, rate, channels and Lead I (or --lead) quality of INPUT."""
    console = Console(highlight=False)
    with user_errors():
        rec = read_recording(input_path, fs=fs, lead=lead, units=units, gain=gain)
        console.print(_recording_table(rec))
        x, name = select_lead(rec, lead, accept_other_lead=True)
        report = check_lead(x, rec.fs, rec.source, min_samples=round(MIN_SECONDS * rec.fs))

    quality = Table(title="Lead quality", show_header=False, title_justify="left")
    quality.add_row("channel", Text(f"{name} ({ROLES[lead_role(name)]})"))
    quality.add_row("amplitude (p1-p99)", f"{report.amplitude_mv:.3f} mV")
    quality.add_row("noise ratio (>40 Hz)", f"{report.noise_ratio:.1%}")
    quality.add_row("missing samples", f"{report.nan_fraction:.2%}")
    quality.add_row("clipped samples", f"{report.clipped_fraction:.2%}")
    console.print(quality)
    for warning in report.warnings:
        console.print(Text.assemble(("warning: ", "yellow"), warning))
    if not report.warnings:
        console.print("[green]no quality warnings[/green]")


def _recording_table(rec: Recording) -> Table:
    table = Table(title="Recording", show_header=False, title_justify="left")
    table.add_row("file", Text(rec.source))
    table.add_row("format", rec.format)
    table.add_row("rate", f"{rec.fs:g} Hz")
    table.add_row("duration", f"{rec.duration_s:.2f} s ({rec.signal.shape[0]} samples)")
    channels = ", ".join(f"{n} [{u}]" for n, u in zip(rec.sig_name, rec.units, strict=True))
    table.add_row("channels", Text(f"{len(rec.sig_name)}: {channels}"))
    for comment in rec.comments:
        table.add_row("note", Text(comment))
    return table
