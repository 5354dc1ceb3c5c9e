"""``ecg12 info``: what a recording holds, which leads and model reconstruct would use, and
whether those leads are fit for it."""

from __future__ import annotations

from dataclasses import replace

import click
import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ecg12.cli.errors import user_errors
from ecg12.cli.options import input_options
from ecg12.errors import InputError
from ecg12.leads import LEAD_NAMES
from ecg12.quality import QualityReport, check_lead
from ecg12.readers import Recording, lead_role, read_recording, standard_lead
from ecg12.registry import ModelCard, load_registry
from ecg12.sources import LeadSource, Opened, choose_model, open_for, read_options

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
@click.option(
    "--model", "model_name", default=None, help="Model to check for (default: reconstruct's)."
)
def command(
    input_path: str,
    lead: str | None,
    leads: str | None,
    fs: float | None,
    units: str | None,
    gain: float | None,
    model_name: str | None,
) -> None:
    """Show the format, rate, channels and standard leads of INPUT, the leads and model
    `reconstruct` would use, and the quality of those leads."""
    console = Console(highlight=False)
    with user_errors():
        options = read_options(fs, lead, leads, units=units, gain=gain)
        rec = read_recording(input_path, fs=fs, lead=lead, units=units, gain=gain)
        console.print(_recording_table(rec))
        opened = Opened(rec, input_path)
        registry = load_registry()
        card = registry.card(model_name or choose_model(registry, opened, options))
        source = open_for(card.inputs, opened, replace(options, accept_other_lead=True))
        console.print(_model_table(card, source, rec))
        for note in source.notes:
            console.print(Text.assemble(("note: ", "cyan"), note))
        if card.inputs == "any":
            reports = _any_lead_quality(console, source, _least(rec))
        else:
            x = source.read(0, source.n)[:, 0]
            reports = [check_lead(x, rec.fs, rec.source, _least(rec))]
            console.print(_lead_i_table(source.lead, reports[0]))
    warnings = [w for r in reports for w in r.warnings]
    for warning in warnings:
        console.print(Text.assemble(("warning: ", "yellow"), warning))
    if not warnings:
        console.print("[green]no quality warnings[/green]")


def _least(rec: Recording) -> int:
    return round(MIN_SECONDS * rec.fs)


def _recording_table(rec: Recording) -> Table:
    table = Table(title="Recording", show_header=False, title_justify="left")
    table.add_row("file", Text(rec.source))
    table.add_row("format", rec.format)
    table.add_row("rate", f"{rec.fs:g} Hz")
    table.add_row("duration", f"{rec.duration_s:.2f} s ({rec.signal.shape[0]} samples)")
    channels = ", ".join(f"{n} [{u}]" for n, u in zip(rec.sig_name, rec.units, strict=True))
    table.add_row("channels", Text(f"{len(rec.sig_name)}: {channels}"))
    table.add_row("standard leads", ", ".join(_named(rec)) or "none named")
    for comment in rec.comments:
        table.add_row("note", Text(comment))
    return table


def _named(rec: Recording) -> list[str]:
    """The standard leads the channels name, in standard order."""
    found = {standard_lead(n) for n in rec.sig_name}
    return [n for n in LEAD_NAMES if n in found]


def _model_table(card: ModelCard, source: LeadSource, rec: Recording) -> Table:
    """Which leads reconstruct would use, and with which model."""
    table = Table(title="Reconstruction", show_header=False, title_justify="left")
    used = ", ".join(
        lead if lead == channel else f"{lead} (channel {channel})"
        for lead, channel in zip(source.leads, source.channels, strict=True)
    )
    table.add_row("leads used", Text(used))
    takes = "any standard leads" if card.inputs == "any" else "Lead I only"
    table.add_row("model", Text(f"{card.name} {card.version} (takes {takes})"))
    unused = [n for n in _named(rec) if n not in source.leads]
    if card.inputs == "lead_i" and unused:
        table.add_row("not used", f"{', '.join(unused)}: the model takes Lead I only")
    return table


def _lead_i_table(name: str, report: QualityReport) -> Table:
    quality = Table(title="Lead quality", show_header=False, title_justify="left")
    quality.add_row("channel", Text(f"{name} ({ROLES[lead_role(name)]})"))
    quality.add_row("amplitude (p1-p99)", f"{report.amplitude_mv:.3f} mV")
    quality.add_row("noise ratio (>40 Hz)", f"{report.noise_ratio:.1%}")
    quality.add_row("missing samples", f"{report.nan_fraction:.2%}")
    quality.add_row("clipped samples", f"{report.clipped_fraction:.2%}")
    return quality


def _any_lead_quality(console: Console, source: LeadSource, least: int) -> list[QualityReport]:
    """One row per lead used: its quality, or why reconstruct would leave it out (or fail)."""
    table = Table(title="Lead quality", title_justify="left")
    for column in ("lead", "channel", "amplitude mV", "noise >40 Hz", "missing", "clipped"):
        table.add_column(column, justify="left" if column in ("lead", "channel") else "right")
    x, reports = source.read(0, source.n), []
    for j, (lead, channel) in enumerate(zip(source.leads, source.channels, strict=True)):
        try:
            r = check_lead(np.asarray(x[:, j]), source.fs, f"{source.source}, lead {lead}", least)
        except InputError as exc:
            fate = "error" if source.required[j] else "left out"
            table.add_row(lead, Text(channel), Text(f"{fate}: {exc.problem}"), "", "", "")
            continue
        reports.append(r)
        table.add_row(
            lead,
            Text(channel),
            f"{r.amplitude_mv:.3f}",
            f"{r.noise_ratio:.1%}",
            f"{r.nan_fraction:.2%}",
            f"{r.clipped_fraction:.2%}",
        )
    console.print(table)
    return reports
