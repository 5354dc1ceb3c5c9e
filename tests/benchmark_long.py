"""Peak memory and time of `ecg12 reconstruct` on long generated Lead I records; prints numbers.

    python tests/benchmark_long.py                # 1 h and 24 h at 500 Hz
    python tests/benchmark_long.py --hours 1 6    # other lengths

Target: a 24 h, 500 Hz record to WFDB with peak RSS under 1 GB, time linear in length. Each run
is a fresh process (RSS is that child's peak); the input is written block by block, so making
it needs no memory either. Not a test: the numbers belong in a report, not in assertions.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
from benchmark_common import Child, machine, reconstruct_cmd, run_child

FS = 500.0


def write_holter(path: Path, hours: float) -> None:
    """Beats at 60-90 bpm with wander and noise, written an hour at a time as WFDB."""
    from ecg12.writers import open_wfdb

    rng = np.random.default_rng(0)
    with open_wfdb(path, FS, ["I"], ["mV"]) as out:
        done, total = 0, int(hours * 3600 * FS)
        while done < total:
            t = (done + np.arange(min(int(3600 * FS), total - done))) / FS
            period = 60 / (75 + 15 * np.sin(2 * np.pi * t / 3600))
            beats = np.exp(-((((t % period) / period) - 0.3) ** 2) / 2e-4 * period)
            wander = 0.3 * np.sin(2 * np.pi * 0.2 * t)
            out.write((beats + wander + 0.02 * rng.normal(size=t.size))[:, None])
            done += t.size
        out.comments = [f"synthetic {hours:g} h Lead I for tests/benchmark_long.py"]


def long_run(hours: float) -> Child:
    """``ecg12 reconstruct`` of a generated ``hours``-long record to WFDB, in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / "holter"
        write_holter(record, hours)
        return run_child(reconstruct_cmd([f"{record}.hea"], Path(tmp) / "out"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, nargs="+", default=[1.0, 24.0])
    args = parser.parse_args()
    print(", ".join(f"{k}: {v}" for k, v in machine().items()))
    for hours in args.hours:
        run = long_run(hours)
        print(
            f"{hours:g} h at {FS:g} Hz: peak RSS {run.peak_mb:.0f} MB, "
            f"wall {run.wall_s:.1f} s ({run.wall_s / hours:.1f} s per hour), "
            f"CPU {run.cpu_s:.1f} s, load average {os.getloadavg()[0]:.2f} after"
        )


if __name__ == "__main__":
    main()
