"""Publishing outputs: never over another file (also across processes), whole sets or nothing,
leftovers of killed runs cleaned up, and our words for a full disk."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import wfdb
from click.testing import CliRunner

from ecg12 import outputs
from ecg12.cli import main
from ecg12.errors import OutputError, OutputExistsError
from ecg12.outputs import Staging, atomic_file, staged, sweep, write_text
from ecg12.writers import write_record

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "lead_i.hea"

# Writes records r000..r<n-1> holding its own number once a line arrives on stdin; prints the
# number of each record it reports written.
WRITER = """
import sys
import numpy as np
from ecg12.writers import write_record
me, folder, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
signal = np.full((2000, 2), float(me))
sys.stdin.readline()
for k in range(n):
    try:
        write_record(signal, 500, ["I", "II"], ["mV"] * 2, [f"writer {me}"], f"{folder}/r{k:03d}")
    except FileExistsError:
        continue
    print(k, flush=True)
"""


def test_concurrent_processes_never_publish_over_each_other(tmp_path: Path) -> None:
    """Four processes write the same 150 WFDB records into one folder at the same time."""
    n, writers = 150, 4
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(me), str(tmp_path), str(n)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for me in range(1, writers + 1)
    ]
    time.sleep(1.0)  # let every process import numpy and ecg12 before the start line
    for proc in procs:
        proc.stdin.write("\n")  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]
    reported = {me: proc.communicate(timeout=120)[0].split() for me, proc in enumerate(procs, 1)}
    assert all(proc.returncode == 0 for proc in procs)
    owners = sorted(int(k) for ks in reported.values() for k in ks)
    assert owners == list(range(n))  # every record reported written exactly once
    for me, ks in reported.items():
        for k in ks:
            rec = wfdb.rdrecord(str(tmp_path / f"r{int(k):03d}"))
            assert rec.comments == [f"writer {me}"]
            assert np.all(rec.p_signal == me)  # header and signal file from the same writer
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".dat"] * n + [".hea"] * n


def _no_hard_links(source: object, target: object) -> None:
    raise OSError(errno.EPERM, "Operation not permitted")  # what FAT answers


@pytest.mark.parametrize("hard_links", [True, False])
def test_a_file_that_appears_meanwhile_is_kept_and_the_set_withdrawn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hard_links: bool
) -> None:
    if not hard_links:
        monkeypatch.setattr(os, "link", _no_hard_links)
    with pytest.raises(OutputExistsError, match=r"b\.txt exists; pass overwrite=True"):
        with staged(tmp_path, ["a.txt", "b.txt"]) as tmp:
            (tmp / "a.txt").write_text("mine")
            (tmp / "b.txt").write_text("mine")
            (tmp_path / "b.txt").write_text("theirs")  # another run got there first
    assert [p.name for p in tmp_path.iterdir()] == ["b.txt"]  # a.txt published, then withdrawn
    assert (tmp_path / "b.txt").read_text() == "theirs"
    with staged(tmp_path, ["a.txt"]) as tmp:
        (tmp / "a.txt").write_text("mine")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]
    assert (tmp_path / "a.txt").read_text() == "mine"


def test_sets_staged_in_a_runs_area_leave_it_empty_and_the_run_removes_it(
    tmp_path: Path,
) -> None:
    """Many sets share one temporary folder per output folder: each set's files leave it
    whether published or refused, and the folder goes when the run ends."""
    out = tmp_path / "out"
    with Staging() as staging:
        area = staging.area(out)
        assert staging.area(out) == area and area.parent == out and area.name.endswith(".tmp")
        for k in range(3):
            with staged(out, [f"r{k}.dat", f"r{k}.hea"], area=area) as tmp:
                assert tmp == area
                (tmp / f"r{k}.dat").write_text(f"data {k}")
                (tmp / f"r{k}.hea").write_text(f"header {k}")
            assert list(area.iterdir()) == []
        with pytest.raises(OutputExistsError), staged(out, ["r0.dat", "x.hea"], area=area):
            pass
        with pytest.raises(RuntimeError), staged(out, ["r3.dat"], area=area) as tmp:
            (tmp / "r3.dat").write_text("half")
            raise RuntimeError("failed midway")
        assert list(area.iterdir()) == []
        assert area.is_dir()
    assert sorted(p.name for p in out.iterdir()) == [
        f"r{k}{s}" for k in range(3) for s in (".dat", ".hea")
    ]
    assert (out / "r2.hea").read_text() == "header 2"


def test_subfolders_of_a_runs_root_are_staged_in_the_roots_area(tmp_path: Path) -> None:
    """Sets of one name bound for two subfolders, staged at the same time, do not meet; the
    subfolders are made; the run leaves one temporary folder (in root) and removes it."""
    out = tmp_path / "out"
    with Staging(out) as staging:
        areas = [staging.area(out / site / "p1") for site in ("a", "b")]
        assert areas[0] != areas[1] and areas[0].parent.parent == staging.area(out)
        with (
            staged(out / "a" / "p1", ["r.hea"], area=areas[0]) as first,
            staged(out / "b" / "p1", ["r.hea"], area=areas[1]) as second,
        ):
            (first / "r.hea").write_text("site a")
            (second / "r.hea").write_text("site b")
        assert [p.name for p in out.iterdir() if p.name.startswith(".ecg12-")] != []
    assert (out / "a" / "p1" / "r.hea").read_text() == "site a"
    assert (out / "b" / "p1" / "r.hea").read_text() == "site b"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "a",
        "a/p1",
        "a/p1/r.hea",
        "b",
        "b/p1",
        "b/p1/r.hea",
    ]


def test_atomic_file_replaces_by_default_and_refuses_when_asked(tmp_path: Path) -> None:
    path = write_text(tmp_path / "cache.json", "old")
    assert write_text(path, "new").read_text() == "new"
    with pytest.raises(OutputExistsError):
        write_text(path, "newer", overwrite=False)
    with pytest.raises(RuntimeError), atomic_file(path) as f:
        f.write(b"half")
        raise RuntimeError("killed midway")
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["cache.json"]
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names that, written into any temporary folder, go to /dev/full (a real ENOSPC)."""
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    names: list[str] = []
    make = outputs._temp_folder

    def temp_folder(folder: Path) -> Path:
        tmp = make(folder)
        for name in names:
            (tmp / name).symlink_to("/dev/full")
        return tmp

    monkeypatch.setattr(outputs, "_temp_folder", temp_folder)
    return names


@pytest.mark.parametrize("fmt, suffixes", [("wfdb", [".dat", ".hea"]), ("csv", [".csv"])])
def test_full_disk_is_said_in_our_words(
    tmp_path: Path, full_disk: list[str], fmt: str, suffixes: list[str]
) -> None:
    full_disk.append(f"rec{suffixes[0]}")
    signal = np.random.default_rng(0).normal(size=(200_000, 2))
    with pytest.raises(OutputError) as caught:
        write_record(signal, 500, ["I", "II"], ["mV"] * 2, [], tmp_path / "rec", fmt=fmt)
    targets = ", ".join(str(tmp_path / f"rec{s}") for s in suffixes)
    assert str(caught.value) == f"disk full while writing {targets}"
    assert caught.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


# Holds a WFDB record open, half written, until it is killed.
HALF_WRITTEN = """
import sys, time
import numpy as np
from ecg12.writers import open_wfdb
with open_wfdb(sys.argv[1], 500, ["I"], ["mV"]) as out:
    out.write(np.zeros((1000, 1)))
    print("writing", flush=True)
    time.sleep(600)
"""


def killed_midway(folder: Path) -> Path:
    """The temporary folder a real process leaves when it is killed (SIGKILL) mid-write."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HALF_WRITTEN, str(folder / "rec")],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
    proc.kill()
    proc.wait(timeout=30)
    (left,) = list(folder.iterdir())
    assert left.name.startswith(f".ecg12-{proc.pid}-") and left.name.endswith(".tmp")
    assert [p.name for p in left.iterdir()] == ["rec.dat"]
    return left


def backdate(path: Path, seconds: float) -> None:
    when = time.time() - seconds
    for inner in [path, *path.rglob("*")]:
        os.utime(inner, (when, when), follow_symlinks=False)


def test_sweep_removes_old_leftovers_of_dead_processes_only(tmp_path: Path) -> None:
    left = killed_midway(tmp_path)
    assert sweep(tmp_path) == []  # dead, but too recent to be sure it is not a live writer's
    live = tmp_path / f".ecg12-{os.getpid()}-abc.tmp"  # old, but its process runs
    live.write_text("in use")
    others = [tmp_path / ".ecg12-notes.tmp", tmp_path / ".rec-123-x.tmp", tmp_path / "r.csv"]
    for path in others:
        path.write_text("not ours")
    for path in [left, live, *others]:
        backdate(path, 2 * outputs.STALE_AFTER_S)
    assert sweep(tmp_path) == [left]
    assert sorted(tmp_path.iterdir()) == sorted([live, *others])
    assert sweep(tmp_path / "missing") == []


def test_a_run_cleans_up_what_a_killed_run_left(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    left = killed_midway(out)
    backdate(left, 2 * outputs.STALE_AFTER_S)
    result = CliRunner().invoke(main, ["reconstruct", str(EXAMPLE), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"note: removed 1 temporary file(s) that interrupted runs left in {out}" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["lead_i_12lead.dat", "lead_i_12lead.hea"]


def test_a_failed_picture_leaves_no_record(
    tiny_model: Path, tmp_path: Path, full_disk: list[str]
) -> None:
    """With --plot the record and the picture appear together or not at all."""
    full_disk.append("lead_i_12lead.png")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["reconstruct", str(EXAMPLE), "-o", str(out), "--plot"])
    assert result.exit_code == 1
    written = ", ".join(str(out / f"lead_i_12lead{s}") for s in (".dat", ".hea", ".png"))
    assert f"error: {EXAMPLE}: disk full while writing {written}\n" in result.output
    assert list(out.iterdir()) == []
