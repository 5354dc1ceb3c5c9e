"""What the benchmarks share: running one child process and measuring it alone, and describing
the machine the numbers come from. Not a benchmark itself."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Child:
    """What one child process cost: wall seconds, CPU seconds (user + system, all its
    threads), peak resident memory (MB), and what it printed."""

    wall_s: float
    cpu_s: float
    peak_mb: float
    stdout: str = ""


def run_child(args: list[str]) -> Child:
    """Run ``args`` and measure that process alone: ``os.wait4`` gives its own CPU time, where
    ``RUSAGE_CHILDREN`` would sum every child so far. Its peak RSS is read from
    ``/proc/<pid>/status`` while it runs: Linux starts a child's ``ru_maxrss`` at its parent's
    peak, so a benchmark that has loaded a model would see its own memory there."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    peak: list[float] = []
    finished = threading.Event()
    watcher = threading.Thread(target=_watch_peak, args=(proc.pid, peak, finished))
    watcher.start()
    out = proc.stdout.read()  # small: nothing the measured commands print is large
    finished.set()
    watcher.join()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    proc.stdout.close()
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, args, out)
    cpu = usage.ru_utime + usage.ru_stime
    return Child(wall, cpu, peak[-1] if peak else usage.ru_maxrss / 1024, out)


def _watch_peak(pid: int, peak: list[float], finished: threading.Event) -> None:
    """Append the process's high-water RSS (MB, ``VmHWM``) every 50 ms until it has finished;
    the last reading is its peak (a high-water mark only grows). Nothing where there is no
    ``/proc``: the caller falls back to ``ru_maxrss``."""
    status = Path(f"/proc/{pid}/status")
    while not finished.wait(0.05):
        try:
            lines = status.read_text().splitlines()
        except OSError:
            return
        peak += [int(line.split()[1]) / 1024 for line in lines if line.startswith("VmHWM:")]


def reconstruct_cmd(inputs: list[str | Path], outdir: str | Path, *options: str) -> list[str]:
    """A fresh, quiet ``ecg12 reconstruct`` process, as a user runs it."""
    return [
        sys.executable,
        "-m",
        "ecg12",
        "reconstruct",
        *map(str, inputs),
        "-o",
        str(outdir),
        "-q",
        *options,
    ]


def cpu_model() -> str:
    """The CPU's name as the kernel reports it (``platform.processor()`` is often empty)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def commit() -> str:
    """The checkout's commit, marked ``+changes`` where files differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{' +changes' if dirty else ''}" if head else "unknown"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: how busy the machine was (other work included)."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> dict[str, str]:
    """Where and when the numbers were measured; the load average says how busy it was."""
    import numpy
    import onnxruntime

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": cpu_model(),
        "cores": f"{os.cpu_count()} ({usable} usable)",
        "load average at start (1 / 5 / 15 min)": load_average(),
        "onnxruntime": onnxruntime.__version__,
        "numpy": numpy.__version__,
        "Python": platform.python_version(),
        "ecg12 commit": commit(),
    }
