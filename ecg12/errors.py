"""Exceptions ecg12 raises for problems a user can fix."""

from __future__ import annotations

from pathlib import Path


class Ecg12Error(Exception):
    """Base class for every error ecg12 raises on purpose."""


class InputError(Ecg12Error, ValueError):
    """An input recording cannot be used; the message names the file and the problem."""

    def __init__(self, problem: str, source: str | Path | None = None) -> None:
        self.problem = problem
        self.source = None if source is None else printable(str(source))
        super().__init__(f"{self.source}: {problem}" if self.source else problem)

    def __reduce__(self) -> tuple:  # pickled whole, for worker processes
        return type(self), (self.problem, self.source)


class ModelError(Ecg12Error):
    """A model cannot be found, fetched, verified or run."""


class OutputError(Ecg12Error, OSError):
    """An output cannot be written (disk full, no permission); the message names it.

    ``errno`` is the operating system's error number, when there was one.
    """

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno

    def __reduce__(self) -> tuple:
        return type(self), (str(self), self.errno)


class OutputExistsError(OutputError, FileExistsError):
    """An output exists and replacing it was not asked for; ``path`` names it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        super().__init__(f"{printable(str(path))} exists; pass overwrite=True to replace it")

    def __reduce__(self) -> tuple:
        return type(self), (self.path,)


def printable(text: str) -> str:
    """``text`` with control characters (terminal escapes in a file name) spelled as escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
