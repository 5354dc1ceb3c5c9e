"""How every command reports a problem: one ``error: ...`` line on stderr and exit status 1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click

from ecg12.errors import Ecg12Error


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(1)


@contextmanager
def user_errors(*kinds: type[Exception]) -> Iterator[None]:
    """Turn an ecg12 error (or one of ``kinds``) into :func:`fail`; anything else is a bug."""
    try:
        yield
    except (Ecg12Error, *kinds) as exc:
        fail(" ".join(str(exc).split()))
