"""The ``ecg12`` command: a thin click group; each command lives in a module of its own."""

from __future__ import annotations

import click

from ecg12 import __version__
from ecg12.cli import info, models, plot, reconstruct


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ecg12")
def main() -> None:
    """Estimate a 12-lead ECG from a Lead I recording, or from whichever leads a recording
    has (EKGAN, ONNX).

    A reconstruction is an estimate, not a measured ECG; ecg12 is not a medical device.
    """


for _module in (reconstruct, plot, models, info):
    main.add_command(_module.command)
