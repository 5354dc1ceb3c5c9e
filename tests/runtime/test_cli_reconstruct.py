"""``ecg12 reconstruct`` driven like a user would, on real files and a real ONNX session."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import wfdb
from click.testing import CliRunner

from ecg12.cli import main
from ecg12.result import DISCLAIMER

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """A folder of real inputs: the WFDB, CSV and Apple Health examples plus one broken file."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("lead_i.hea", "lead_i.dat", "apple_health_lead_i.csv"):
        shutil.copy(EXAMPLES / name, folder / name)
    shutil.copy(EXAMPLES / "lead_i.csv", folder / "other.csv")
    (folder / "broken.csv").write_text("time_s,I\n0.0,abc\n")
    return folder


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_one_bad_file_does_not_stop_the_others(
    tiny_model: Path, inputs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = run("reconstruct", str(inputs), "-o", str(out))
    assert result.exit_code == 1
    assert "broken.csv" in result.output and "1 of 4 inputs failed" in result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        f"{s}_12lead.{x}"
        for s in ("lead_i", "apple_health_lead_i", "other")
        for x in ("hea", "dat")
    )
    assert not any("broken" in n for n in names)  # no partial output for the bad file
    rec = wfdb.rdrecord(str(out / "apple_health_lead_i_12lead"))
    assert rec.fs == 500 and rec.sig_name[6] == "V1"


@pytest.mark.parametrize("fmt, suffixes", [("csv", [".csv"]), ("npz", [".npz"])])
def test_formats_and_plot(tiny_model: Path, tmp_path: Path, fmt: str, suffixes: list[str]) -> None:
    out = tmp_path / "out"
    result = run(
        "reconstruct",
        str(EXAMPLES / "lead_i.hea"),
        "-o",
        str(out),
        "--format",
        fmt,
        "--plot",
        "--out-fs",
        "250",
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.suffix for p in out.iterdir()) == sorted(suffixes + [".png"])
    if fmt == "npz":
        with np.load(out / "lead_i_12lead.npz") as z:
            assert z["p_signal"].shape == (7500, 12) and float(z["fs"]) == 250.0
    else:
        lines = (out / "lead_i_12lead.csv").read_text().splitlines()
        header = next(line for line in lines if not line.startswith("#"))
        assert header.split(",")[:3] == ["time_s", "I", "II"]
        assert lines[0] == "# Reconstructed 12-lead ECG, " + DISCLAIMER + "."


def test_existing_outputs_are_kept_unless_overwrite(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("reconstruct", str(EXAMPLES / "lead_i.hea"), "-o", str(out)).exit_code == 0
    hea = out / "lead_i_12lead.hea"
    hea.write_text(hea.read_text() + "# a user's note\n")
    kept = hea.read_bytes()
    result = run("reconstruct", str(EXAMPLES / "lead_i.hea"), "-o", str(out))
    assert result.exit_code == 1
    assert f"{out / 'lead_i_12lead.dat'} exists; pass --overwrite to replace it" in result.output
    assert hea.read_bytes() == kept
    assert (
        run("reconstruct", str(EXAMPLES / "lead_i.hea"), "-o", str(out), "--overwrite").exit_code
        == 0
    )
    assert hea.read_bytes() != kept


def test_an_output_folder_that_cannot_be_made_fails_each_file_in_one_line(
    tiny_model: Path, tmp_path: Path
) -> None:
    """The run's staging folder cannot be made either: every file says why, nothing is left."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "afile").write_text("not a folder")
    out = work / "afile" / "out"
    result = run(
        "reconstruct", str(EXAMPLES / "lead_i.hea"), str(EXAMPLES / "lead_i.csv"), "-o", str(out)
    )
    assert result.exit_code == 1 and "2 of 2 inputs failed" in result.output
    for stem in ("lead_i_hea_12lead", "lead_i_csv_12lead"):
        assert f"cannot write {out / stem}.dat, {out / stem}.hea: Not a directory" in result.output
    assert [p.name for p in work.iterdir()] == ["afile"]


def _lead_i_files(folder: Path, names: list[str], sign: float) -> list[Path]:
    """The example's Lead I (times ``sign``) as .npy files ``names`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    x = sign * wfdb.rdrecord(str(EXAMPLES / "lead_i")).p_signal[:, 0]
    for name in names:
        np.save(folder / name, x)
    return [folder / name for name in names]


def test_inputs_sharing_an_output_name_are_refused_not_merged(
    tiny_model: Path, tmp_path: Path
) -> None:
    first = _lead_i_files(tmp_path / "a", ["r000.npy"], 1.0)[0]
    later = [*_lead_i_files(tmp_path / "b", ["r000.npy"], -1.0)]
    later += _lead_i_files(tmp_path / "c", ["R000.npy"], -1.0)  # one name on macOS, Windows
    out = tmp_path / "out"
    result = run("reconstruct", str(first), *map(str, later), "-o", str(out), "--fs", "500")
    assert result.exit_code == 1
    for path in later:
        assert (
            f"error: {path}: its output name {path.stem}_12lead is already that of {first} in "
            "this run;"
        ) in result.output
    assert "2 of 3 inputs failed" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["r000_12lead.dat", "r000_12lead.hea"]
    assert f"input: {first}," in (out / "r000_12lead.hea").read_text()


def test_a_folder_searched_recursively_keeps_its_subfolders(
    tiny_model: Path, tmp_path: Path
) -> None:
    """Records of one name in different subfolders (sites, patients) are all reconstructed, each
    into its subfolder of OUTDIR, however the run is cut into groups and workers; a long one
    streams there too. Files given one by one still share OUTDIR itself."""
    names = {f"site{k}/p{j}": -1.0 if k else 1.0 for k in range(2) for j in range(2)}
    for sub, sign in names.items():
        _lead_i_files(tmp_path / "in" / sub, ["ecg.npy"], sign)
    long = np.tile(wfdb.rdrecord(str(EXAMPLES / "lead_i")).p_signal[:, 0], 70)  # 35 min
    np.save(tmp_path / "in" / "site1" / "p0" / "day.npy", long)
    out = tmp_path / "out"
    for how in (["--workers", "1"], ["--workers", "2", "--processes"]):
        folder = out / how[-1]
        result = run(
            "reconstruct", str(tmp_path / "in"), "-r", "-o", str(folder), "--fs", "500", *how
        )
        assert result.exit_code == 0, result.output
        for sub, sign in names.items():
            rec = wfdb.rdrecord(str(folder / sub / "ecg_12lead"))
            source = tmp_path / "in" / sub / "ecg.npy"
            assert f"input: {source}, lead I, 500 Hz, npy" in rec.comments
            lead_i = wfdb.rdrecord(str(EXAMPLES / "lead_i")).p_signal[:, 0]
            assert sign * np.corrcoef(rec.p_signal[:, 0], lead_i)[0, 1] > 0.9  # its own data
        assert wfdb.rdheader(str(folder / "site1" / "p0" / "day_12lead")).sig_len == 35 * 60 * 500
        assert sorted(p.name for p in folder.iterdir()) == ["site0", "site1"]
        assert not list(folder.rglob(".ecg12-*"))  # no staging folder left anywhere
    flat = tmp_path / "flat"
    files = [str(tmp_path / "in" / sub / "ecg.npy") for sub in names]
    result = run("reconstruct", *files, "-o", str(flat), "--fs", "500")
    assert result.exit_code == 1 and "3 of 4 inputs failed" in result.output
    assert sorted(p.name for p in flat.iterdir()) == ["ecg_12lead.dat", "ecg_12lead.hea"]


def test_a_search_skips_the_output_folder_inside_it(tiny_model: Path, tmp_path: Path) -> None:
    """OUTDIR inside the folder searched: a second run does not reconstruct the first's outputs."""
    _lead_i_files(tmp_path / "in" / "p1", ["ecg.npy"], 1.0)
    out = tmp_path / "in" / "out"
    for extra in ([], ["--overwrite"]):
        result = run(
            "reconstruct", str(tmp_path / "in"), "-r", "-o", str(out), "--fs", "500", *extra
        )
        assert result.exit_code == 0, result.output
        assert result.output.count(" -> ") == 1
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "p1",
        "p1/ecg_12lead.dat",
        "p1/ecg_12lead.hea",
    ]


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need privileges there")
def test_a_search_takes_input_files_in_path_order(tmp_path: Path) -> None:
    """What a search finds and in which order: files with an input suffix (links to files
    too), part by part as paths sort (a/ before a-c/, whatever the characters' codes say),
    each with its subfolder; not a folder named like a file, a broken link, a link to a
    folder, nor OUTDIR inside it. A signal file given by name stands for its header."""
    from ecg12.cli.reconstruct import expand_inputs

    top = tmp_path / "in"
    for name in ["b.hea", "b.dat", "notes", "a/x.csv", "a-c/y.edf", "a/out/o.hea", "a/k/z.NPY"]:
        (top / name).parent.mkdir(parents=True, exist_ok=True)
        (top / name).write_text("")
    (top / "d.hea").mkdir()
    (top / "l.csv").symlink_to(top / "a" / "x.csv")
    (top / "gone.csv").symlink_to(top / "nothing.csv")
    (top / "linked").symlink_to(top / "a", target_is_directory=True)
    found = expand_inputs((str(top),), recursive=True, outdir=top / "a" / "out")
    assert [(p.relative_to(top).as_posix(), sub.as_posix()) for p, sub in found.items()] == [
        ("a/k/z.NPY", "a/k"),
        ("a/x.csv", "a"),
        ("a-c/y.edf", "a-c"),
        ("b.hea", "."),
        ("l.csv", "."),
    ]
    assert list(expand_inputs((str(top),))) == [top / "b.hea", top / "l.csv"]
    assert list(expand_inputs((str(top / "b.dat"),))) == [top / "b.hea"]


def test_two_runs_into_one_folder_keep_their_own_outputs(tiny_model: Path, tmp_path: Path) -> None:
    """The issue's race: two real processes, inputs of the same names, no --overwrite."""
    names = [f"r{k:03d}.npy" for k in range(40)]
    runs = {sign: _lead_i_files(tmp_path / f"in{sign:+.0f}", names, sign) for sign in (1.0, -1.0)}
    out = tmp_path / "out"
    procs = {
        sign: subprocess.Popen(
            [sys.executable, "-m", "ecg12", "reconstruct", str(files[0].parent), "-o", str(out)]
            + ["--fs", "500", "--workers", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for sign, files in runs.items()
    }
    claimed = []
    for sign, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        written = [line.split(" -> ")[0] for line in stdout.splitlines() if " -> " in line]
        assert proc.returncode == (1 if len(written) < len(names) else 0), stderr
        assert stderr.count("exists; pass --overwrite to replace it") == len(names) - len(written)
        for source in written:
            rec = wfdb.rdrecord(str(out / f"{Path(source).stem}_12lead"))
            assert f"input: {source}, lead I, 500 Hz, npy" in rec.comments
            lead_i = wfdb.rdrecord(str(EXAMPLES / "lead_i")).p_signal[:, 0]
            assert sign * np.corrcoef(rec.p_signal[:, 0], lead_i)[0, 1] > 0.9  # its own data
        claimed += [Path(source).name for source in written]
    assert sorted(claimed) == names  # each output written by exactly one run
    assert not list(out.glob(".ecg12-*"))  # each run's staging folder is gone


def test_globs_same_stems_and_quiet(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("reconstruct", str(EXAMPLES / "lead_i.*"), "-o", str(out), "-q")
    assert result.exit_code == 0 and result.output == ""
    # lead_i.hea and lead_i.csv (lead_i.dat is read through its header) keep distinct names.
    assert {p.stem for p in out.iterdir()} == {"lead_i_hea_12lead", "lead_i_csv_12lead"}


def test_rate_and_lead_options(tiny_model: Path, tmp_path: Path) -> None:
    x = wfdb.rdrecord(str(EXAMPLES / "lead_i")).p_signal
    np.save(tmp_path / "two.npy", np.hstack([x, -x]))
    result = run("reconstruct", str(tmp_path / "two.npy"), "-o", str(tmp_path / "o"))
    assert result.exit_code == 1 and "--fs" in result.output
    result = run(
        "reconstruct",
        str(tmp_path / "two.npy"),
        "-o",
        str(tmp_path / "o"),
        "--fs",
        "500",
        "--lead",
        "ch2",
    )
    assert result.exit_code == 0, result.output
    rec = wfdb.rdrecord(str(tmp_path / "o" / "two_12lead"))
    # Lead I of the output is channel 2 conditioned (baseline wander removed), so not exactly -x.
    assert np.corrcoef(rec.p_signal[1000:-1000, 0], x[1000:-1000, 0])[0, 1] < -0.95


def test_missing_model_and_cuda_are_clean_errors(tiny_model: Path, tmp_path: Path) -> None:
    result = run(
        "reconstruct", str(EXAMPLES / "lead_i.hea"), "-o", str(tmp_path), "--model", "nope"
    )
    assert result.exit_code == 1 and "unknown model" in result.output
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        result = run(
            "reconstruct", str(EXAMPLES / "lead_i.hea"), "-o", str(tmp_path), "--device", "cuda"
        )
        assert result.exit_code == 1 and "CUDA" in result.output
        assert not any(tmp_path.glob("*_12lead*"))


def test_nothing_to_do_is_an_error(tiny_model: Path, tmp_path: Path) -> None:
    result = run("reconstruct", str(tmp_path / "*.hea"), "-o", str(tmp_path / "o"))
    assert result.exit_code == 1 and "no input files" in result.output


def test_archive_run_pools_batches_resumes_and_summarises(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd

    from ecg12.model import Model

    x = wfdb.rdrecord(str(EXAMPLES / "lead_i")).p_signal[:5000, 0]  # 10 s: 9 windows
    for k in range(12):  # 12 records in nested folders, one of them broken
        folder = tmp_path / "in" / f"site{k % 3}" / "day1"
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / f"r{k:02d}.npy", np.roll(x, 100 * k))
    (tmp_path / "in" / "site0" / "bad.csv").write_text("time_s,I\n0.0,abc\n")
    batches: list[int] = []
    predict = Model.predict
    monkeypatch.setattr(
        Model, "predict", lambda self, w: batches.append(len(w)) or predict(self, w)
    )
    out, table = tmp_path / "out", tmp_path / "summary.csv"
    args = ["reconstruct", str(tmp_path / "in"), "-o", str(out), "--fs", "500", "-q"]
    args += ["--device", "cpu"]  # the CPU's batches of 32 (CUDA's hold 1,024)
    assert run(*args).exit_code == 1 and not out.exists()  # not recursive: nothing found
    result = run(*args, "-r", "--workers", "2", "--summary", str(table))
    assert result.exit_code == 1 and "bad.csv" in result.output
    # 12 x 9 windows share batches of 32 within a group: the first, of 8 files while no file's
    # size is known (one of them broken), and the other 5
    assert batches == [32, 31, 32, 13]
    summary = pd.read_csv(table)
    assert len(summary) == 13 and (summary["status"] == "ok").sum() == 12
    bad = summary[summary["status"] == "failed"].iloc[0]
    assert bad["input"].endswith("bad.csv") and "bad.csv" in bad["error"]
    assert np.allclose(summary.loc[summary["status"] == "ok", "duration_s"], 10.0)
    assert (summary.loc[summary["status"] == "ok", "host_seconds"] > 0).all()
    assert pd.isna(bad["output"])  # failed: written nowhere
    for _, row in summary[summary["status"] == "ok"].iterrows():
        source = Path(row["input"])  # in/siteK/day1/rKK.npy -> out/siteK/day1/rKK_12lead
        assert row["output"] == str(
            out / source.relative_to(tmp_path / "in").parent / f"{source.stem}_12lead"
        )
        assert wfdb.rdheader(row["output"]).sig_len == 5000
    # The outputs keep the input's subfolders; the run's staging folder, in out, is gone.
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == sorted(
        f"site{k % 3}/day1/r{k:02d}_12lead.{suffix}" for k in range(12) for suffix in ("dat", "hea")
    )
    assert not [p for p in out.rglob("*") if p.name.startswith(".ecg12-")]
    first = (out / "site0" / "day1" / "r00_12lead.hea").read_bytes()
    result = run(*args, "-r", "--skip-existing", "--summary", str(table), "--overwrite")
    skipped = pd.read_csv(table)
    assert (skipped["status"] == "skipped").sum() == 12
    assert set(skipped["output"].dropna()) == set(summary["output"].dropna())
    assert (out / "site0" / "day1" / "r00_12lead.hea").read_bytes() == first
    assert run(*args, "-r", "--summary", str(table)).exit_code == 1  # never over a summary


@pytest.mark.parametrize(
    ("settings", "calls"),
    [
        # groups (r0, r1), (r2, r3), (r4, r5), (r6)
        ({"GROUP": 2, "FIRST_GROUP": 2}, [18, 9, 18, 9]),
        # the three groups submitted before any file's size is known: (r0), (r1), (r2); then
        # groups of 20 // 9 = 2 files: (r3, r4), (r5, r6)
        ({"FIRST_GROUP": 1, "PART_WINDOWS": 20}, [9, 9, 9, 9, 18]),
        # parts (r0, r1), (r2, r3, r4), (r5, r6)
        ({"PART_WINDOWS": 20}, [18, 18, 18]),
        # a file of more windows than a part: alone
        ({"PART_WINDOWS": 5}, [9] * 6),
    ],
)
def test_groups_keep_input_order_and_results(
    tiny_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    settings: dict[str, int],
    calls: list[int],
) -> None:
    """Files split over several groups (the next read while one runs), or a group cut into
    parts of a few windows (long records), come out in input order with their own errors, one
    model call per group or part, and the same files one group writes."""
    import pandas as pd

    import ecg12.cli.batch
    from ecg12.model import Model

    x = wfdb.rdrecord(str(EXAMPLES / "lead_i")).p_signal[:5000, 0]
    folder = tmp_path / "in"
    folder.mkdir()
    for k in range(7):
        np.save(folder / f"r{k}.npy", np.roll(x, 150 * k))
    (folder / "r3.npy").write_bytes(b"not an array")
    predict = Model.predict
    seen: list[int] = []
    monkeypatch.setattr(Model, "predict", lambda self, w: seen.append(len(w)) or predict(self, w))
    base = ["reconstruct", str(folder), "--fs", "500", "-q", "--workers", "2"]
    assert run(*base, "-o", str(tmp_path / "whole")).exit_code == 1
    assert seen == [32, 22]  # one group: CPU batches of 32
    for name, value in settings.items():
        monkeypatch.setattr(ecg12.cli.batch, name, value)
    seen.clear()
    table = tmp_path / "summary.csv"
    result = run(*base, "-o", str(tmp_path / "grouped"), "--summary", str(table))
    assert result.exit_code == 1 and "r3.npy" in result.output
    assert seen == calls
    summary = pd.read_csv(table)
    assert [Path(i).name for i in summary["input"]] == [f"r{k}.npy" for k in range(7)]
    assert list(summary["status"]) == ["ok"] * 3 + ["failed"] + ["ok"] * 3
    for k in (0, 1, 2, 4, 5, 6):
        for suffix in (".dat", ".hea"):
            name = f"r{k}_12lead{suffix}"
            assert (tmp_path / "grouped" / name).read_bytes() == (
                tmp_path / "whole" / name
            ).read_bytes()


def test_a_run_keeps_nothing_of_the_files_it_wrote(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory must not grow with the number of files: a result reaches the main process without
    its samples (240 kB per ten-second record), its summary row is written as it finishes, and
    then the run lets it go."""
    import pandas as pd

    import ecg12.cli.summary

    x = wfdb.rdrecord(str(EXAMPLES / "lead_i")).p_signal[:5000, 0]
    folder = tmp_path / "in"
    folder.mkdir()
    for k in range(5):
        np.save(folder / f"r{k}.npy", np.roll(x, 150 * k))
    seen = []
    row = ecg12.cli.summary.summary_row

    def summarised(job):
        samples = job.result.p_signal
        assert samples.shape == (0, 12) and (samples.base is None or samples.base.size == 0)
        assert job.samples == 5000 and job.written
        seen.append(job)
        return row(job)

    monkeypatch.setattr(ecg12.cli.summary, "summary_row", summarised)
    table = tmp_path / "tables" / "summary.csv"  # a folder the run makes
    args = ["reconstruct", str(folder), "--fs", "500", "-q", "-o", str(tmp_path / "out")]
    assert run(*args, "--summary", str(table)).exit_code == 0
    assert [job.status for job in seen] == ["ok"] * 5
    assert all(job.result is None and not job.written for job in seen)
    assert list(pd.read_csv(table)["duration_s"]) == [10.0] * 5
    assert [p.name for p in table.parent.iterdir()] == ["summary.csv"]  # no temporary left
    for k in range(5):
        assert wfdb.rdheader(str(tmp_path / "out" / f"r{k}_12lead")).sig_len == 5000


def test_long_record_streams_to_wfdb(tiny_model: Path, tmp_path: Path) -> None:
    fs, minutes = 100.0, 31
    t = np.arange(int(minutes * 60 * fs)) / fs
    x = np.exp(-(((t % 0.8) - 0.3) ** 2) / 2e-4)
    wfdb.wrsamp(
        "day",
        fs=fs,
        units=["mV"],
        sig_name=["I"],
        p_signal=x[:, None],
        fmt=["16"],
        write_dir=str(tmp_path),
    )
    result = run("reconstruct", str(tmp_path / "day.hea"), "-o", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    rec = wfdb.rdrecord(str(tmp_path / "o" / "day_12lead"))
    assert rec.sig_len == minutes * 60 * 500 and rec.comments[0].startswith("Reconstructed")
    result = run(
        "reconstruct", str(tmp_path / "day.hea"), "-o", str(tmp_path / "c"), "--format", "csv"
    )
    assert result.exit_code == 1 and "stream to WFDB only" in result.output


def test_worker_processes_write_what_threads_write(
    tiny_model: Path, inputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--processes: the same files byte for byte, the same failure in the same words, and the
    same summary as worker threads (files and errors cross process boundaries whole), with
    files in groups of two, so that groups are read, run and written at once."""
    import pandas as pd

    import ecg12.cli.batch

    monkeypatch.setattr(ecg12.cli.batch, "GROUP", 2)
    shutil.copy(EXAMPLES / "holter_mlii_v5.hea", inputs)  # a file the Lead I model refuses
    shutil.copy(EXAMPLES / "holter_mlii_v5.dat", inputs)
    runs = {}
    for how in (["--workers", "1", "--threads"], ["--workers", "2", "--processes"]):
        out, table = tmp_path / how[-1], tmp_path / f"{how[-1]}.csv"
        result = run("reconstruct", str(inputs), "-o", str(out), "--summary", str(table), *how)
        assert result.exit_code == 1
        errors = sorted(line for line in result.output.splitlines() if line.startswith("error"))
        summary = pd.read_csv(table).drop(columns="host_seconds")
        summary["output"] = summary["output"].str.replace(str(out), "OUT", regex=False)
        files = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
        runs[how[-1]] = errors, summary, files
    (errors, summary, files), (p_errors, p_summary, p_files) = runs.values()
    assert len(errors) == 2 and any("broken.csv" in e for e in errors)
    assert p_errors == errors
    pd.testing.assert_frame_equal(p_summary, summary)
    assert len(files) == 6 and p_files == files


def test_workers_are_processes_by_default_only_for_long_runs_on_a_gpu() -> None:
    """Threads share one interpreter lock: on a GPU, where host work is the limit, a long run
    needs processes; a short one is faster without their start, and on the CPU the network is
    the limit."""
    from ecg12.cli.batch import PROCESSES_FROM, use_processes

    assert use_processes("cuda", PROCESSES_FROM)
    assert not use_processes("cuda", PROCESSES_FROM - 1)
    assert not use_processes("cpu", 100 * PROCESSES_FROM)
