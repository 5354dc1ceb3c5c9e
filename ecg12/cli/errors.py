"""How every command reports a problem (one ``error: ...`` line on stderr and exit status 1)
and the leftovers of interrupted runs it cleans up (a ``note: ...`` line)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click

from ecg12.errors import Ecg12Error, OutputExistsError, printable
from ecg12.outputs import sweep


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(1)


def message(exc: BaseException) -> str:
    """``exc`` as one line in the command line's words (``--overwrite``, not ``overwrite=True``)."""
    if isinstance(exc, OutputExistsError):
        return f"{printable(str(exc.path))} exists; pass --overwrite to replace it"
    return " ".join(str(exc).split())


@contextmanager
def user_errors(*kinds: type[Exception]) -> Iterator[None]:
    """Turn an ecg12 error (or one of ``kinds``) into :func:`fail`; anything else is a bug."""
    try:
        yield
    except (Ecg12Error, *kinds) as exc:
        fail(message(exc))


def sweep_leftovers(folder: Path, quiet: bool = False) -> None:
    """Remove the temporary files killed runs left in ``folder`` (:func:`ecg12.outputs.sweep`)."""
    removed = sweep(folder)
    if removed and not quiet:
        click.echo(
            f"note: removed {len(removed)} temporary file(s) that interrupted runs left in "
            f"{printable(str(folder))}",
            err=True,
        )
