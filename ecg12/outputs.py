"""Publishing outputs: a set of files appears whole or not at all, and never over another file.

Every file is first written into a temporary folder beside its target, named
``.ecg12-<pid>-<random>.tmp`` so that a leftover is recognisable and its writer known. Publishing
hard-links each finished file to its target name: a link, unlike a rename, fails when the name
exists, however it got there, so two runs writing one folder cannot replace each other's files
(checking for the name first and renaming later leaves a window between the two). ``os.link`` is
POSIX and works on Windows (NTFS) too; ``renameat2(RENAME_NOREPLACE)`` would need ctypes and is
Linux-only. On file systems without hard links (FAT, some network shares) the target name is
reserved with ``O_CREAT | O_EXCL`` and the file renamed over the reservation. If one file of a
set cannot be published, those already published by this set are removed again.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ecg12.errors import OutputError, OutputExistsError, printable

__all__ = [
    "STALE_AFTER_S",
    "TEMP_PREFIX",
    "Staging",
    "atomic_file",
    "staged",
    "sweep",
    "write_text",
]

TEMP_PREFIX = ".ecg12-"
_TEMP = re.compile(rf"{re.escape(TEMP_PREFIX)}(\d+)-[^/\\]*\.tmp")
#: A temporary file or folder untouched this long, whose process is gone, is a killed run's.
STALE_AFTER_S = 3600.0
_FULL = {errno.ENOSPC: "disk full", getattr(errno, "EDQUOT", -1): "disk quota exceeded"}


@contextmanager
def staged(
    folder: str | Path, names: Sequence[str], overwrite: bool = False, area: Path | None = None
) -> Iterator[Path]:
    """A temporary folder to write ``names`` into; on success they appear in ``folder`` together.

    An existing target is refused (:class:`~ecg12.errors.OutputExistsError`) before anything is
    written, and again at publishing if one appeared meanwhile, unless ``overwrite``. On any
    error nothing is published and the temporary folder goes. Failures to write become
    :class:`~ecg12.errors.OutputError` naming the targets ("disk full while writing ...").

    ``area`` is a :class:`Staging` folder of ``folder`` to write into instead of a folder of
    this set's own; the set's files leave it again either way.
    """
    folder = Path(folder)
    targets = [folder / name for name in names]
    if len(set(names)) != len(names) or any(t.parent != folder for t in targets):
        raise ValueError(f"output names must be distinct file names: {list(names)}")
    if not overwrite:
        for target in targets:
            if os.path.lexists(target):
                raise OutputExistsError(target)
    tmp: Path | None = None  # this set's own folder
    try:
        with _reported(targets):
            where = area
            if where is None:
                folder.mkdir(parents=True, exist_ok=True)
                where = tmp = _temp_folder(folder)
            yield where
            _publish(where, targets, overwrite)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        elif area is not None:
            for name in names:
                (area / name).unlink(missing_ok=True)


class Staging:
    """The temporary folders of a run that publishes many file sets (one per record): one per
    output folder, made when first asked for and removed when the run ends. Folders below
    ``root`` (an archive's subfolders, mirrored) are staged in the same subfolders of root's
    temporary folder, so a run leaves temporary files in root alone, however many subfolders
    it writes.

    A folder made and removed for every set cost about 0.3 ms a record here, and two changes
    to an output folder that may hold a whole archive. Sets staged in one folder at the same
    time must have distinct names, as the files of one run in one output folder have.
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self._root = None if root is None else Path(root)
        self._made: dict[Path, Path] = {}

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        for tmp in self._made.values():
            shutil.rmtree(tmp, ignore_errors=True)

    def area(self, folder: str | Path) -> Path:
        """The run's temporary folder for ``folder`` (made, with ``folder``, if missing)."""
        folder, root = Path(folder), self._root
        if root is not None and folder != root and folder.is_relative_to(root):
            area = self.area(root) / folder.relative_to(root)
            folder.mkdir(parents=True, exist_ok=True)
            area.mkdir(parents=True, exist_ok=True)
            return area
        if folder not in self._made:
            folder.mkdir(parents=True, exist_ok=True)
            self._made[folder] = _temp_folder(folder)
        return self._made[folder]


def _temp_folder(folder: Path) -> Path:
    """A fresh ``.ecg12-<pid>-XXXX.tmp`` folder in ``folder``."""
    prefix = f"{TEMP_PREFIX}{os.getpid()}-"
    return Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=folder))


@contextmanager
def _reported(targets: list[Path]) -> Iterator[None]:
    """Operating-system errors as one line naming the outputs, not a temporary file."""
    try:
        yield
    except OutputExistsError:
        raise
    except OSError as exc:
        where = ", ".join(printable(str(t)) for t in targets)
        code = exc.errno
        if code in _FULL:
            raise OutputError(f"{_FULL[code]} while writing {where}", code) from exc
        reason = exc.strerror or " ".join(str(exc).split()) or type(exc).__name__
        raise OutputError(f"cannot write {where}: {reason}", code) from exc


def _publish(tmp: Path, targets: list[Path], overwrite: bool) -> None:
    """Move the finished files into place, all of them or (without ``overwrite``) none."""
    if overwrite:
        for target in targets:
            os.replace(tmp / target.name, target)
        return
    done: list[tuple[Path, os.stat_result]] = []
    try:
        for target in targets:
            source = tmp / target.name
            mine = os.stat(source)
            _link_new(source, target)
            done.append((target, mine))
    except BaseException:
        for target, mine in done:  # remove ours, never a file another run put there since
            try:
                if os.path.samestat(os.stat(target), mine):
                    target.unlink()
            except OSError:
                pass
        raise


def _link_new(source: Path, target: Path) -> None:
    """Give ``source`` the name ``target`` only if no file has that name."""
    try:
        os.link(source, target)
        return
    except FileExistsError:
        raise OutputExistsError(target) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK):
            raise
    try:  # no hard links here: reserve the name, then rename over the reservation
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        raise OutputExistsError(target) from None
    os.replace(source, target)


@contextmanager
def atomic_file(path: str | Path, overwrite: bool = True) -> Iterator[IO[bytes]]:
    """A binary file that appears at ``path`` only once written in full.

    It replaces what ``path`` held (a cache, a checkpoint) unless ``overwrite`` is false; then an
    existing ``path`` is refused and kept. On any error ``path`` stays as it was.
    """
    path = Path(path)
    with staged(path.parent, [path.name], overwrite) as tmp, open(tmp / path.name, "wb") as f:
        yield f


def write_text(path: str | Path, text: str, overwrite: bool = True) -> Path:
    """Write a small text file (UTF-8) atomically; see :func:`atomic_file` for ``overwrite``."""
    with atomic_file(path, overwrite) as f:
        f.write(text.encode("utf-8"))
    return Path(path)


def sweep(folder: str | Path, older_than_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove temporary files and folders that killed runs left in ``folder``; returns them.

    A leftover is ``.ecg12-<pid>-*.tmp`` untouched (it and what it holds) for ``older_than_s``
    whose process is not running. On a folder shared between machines the process check may
    see another machine's live writer as gone; the age protects it, since a live writer keeps
    touching its files.
    """
    removed: list[Path] = []
    try:
        entries = [(e, _TEMP.fullmatch(e.name)) for e in os.scandir(folder)]
    except OSError:  # missing or unreadable: nothing of ours to clean
        return removed
    now = time.time()
    for entry, match in entries:
        path = Path(entry.path)
        if match is None or now - _last_touched(path) < older_than_s or _running(int(match[1])):
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        if not os.path.lexists(path):
            removed.append(path)
    return removed


def _last_touched(path: Path) -> float:
    """The newest modification time of ``path`` and everything under it."""
    newest = path.lstat().st_mtime
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            try:
                newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
            except OSError:
                continue
    return newest


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists here; where that cannot be asked (Windows), False."""
    if os.name != "posix":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, but belongs to someone else
        return True
    return True
