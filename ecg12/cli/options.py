"""Options that say what an input file cannot say itself, shared by ``reconstruct`` and ``info``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])

UNITS = ("mV", "uV", "V")


def input_options(command: F) -> F:
    """Add ``--lead``, ``--leads``, ``--fs``, ``--units`` and ``--gain`` to a command."""
    for option in reversed(
        (
            click.option("--lead", default=None, help="Channel to use when no lead is named I."),
            click.option(
                "--leads",
                default=None,
                help="Leads to use (default: every standard lead the file names), e.g. "
                "I,II,V1; CHANNEL=LEAD takes a channel without a lead name as that lead "
                "(ch1=II,ch2=V5).",
            ),
            click.option(
                "--fs", type=float, default=None, help="Sampling rate for files that carry none."
            ),
            click.option(
                "--units",
                type=click.Choice(UNITS, case_sensitive=False),
                default=None,
                help="Units of the values, for files that carry none (or a wrong one).",
            ),
            click.option(
                "--gain",
                type=float,
                default=None,
                help="ADC units per mV, for files of raw counts (instead of --units).",
            ),
        )
    ):
        command = option(command)
    return command
