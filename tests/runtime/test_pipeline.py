"""The public API end to end on real ONNX sessions: a tiny known-answer model, the shipped one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import wfdb

import ecg12
from ecg12.preprocess import preprocess

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "lead_i.hea"


def lead_i(seconds: float, fs: float, seed: int = 0) -> np.ndarray:
    """A pulse train at 75 bpm (1 mV spikes) with a little noise: enough to exercise plumbing."""
    t = np.arange(int(seconds * fs)) / fs
    beats = np.exp(-(((t % 0.8) - 0.3) ** 2) / 2e-4)
    return beats + 0.01 * np.random.default_rng(seed).normal(size=t.size)


@pytest.mark.parametrize("module", ["ecg12", "ecg12.cli"])
def test_import_is_cheap_and_quiet(module: str) -> None:
    """`import ecg12` and `ecg12 --help` load none of the heavy dependencies (scipy alone
    costs ~0.5 s)."""
    code = (
        f"import sys, {module}; heavy = {{'onnxruntime', 'matplotlib', 'wfdb', 'scipy', "
        "'pooch', 'pandas'} & set(sys.modules); print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]" and out.stderr == ""


@pytest.mark.parametrize("fs", [100.0, 250.0, 300.0, 512.0, 1000.0])
def test_any_rate_gives_twelve_leads_in_mv(tiny_model: Path, fs: float) -> None:
    x = lead_i(12.0, fs)
    rec = ecg12.reconstruct(x, fs=fs)
    assert rec.p_signal.dtype == np.float32
    assert rec.fs == 500.0 and abs(rec.p_signal.shape[0] - 6000) <= 6
    assert rec.sig_name == list(ecg12.LEAD_NAMES) and rec.units == ["mV"] * 12
    assert rec.model == "tiny" and rec.input_fs == fs and rec.source == "<array>"


def test_known_answer_at_model_rate(tiny_model: Path) -> None:
    """Tiny model: lead k = (k+1) x Lead I. The pipeline must return exactly that, in mV."""
    fs = 250.0
    x = lead_i(30.0, fs)
    rec = ecg12.reconstruct(x, fs=fs, out_fs=None)
    spec = ecg12.load().spec
    cond = preprocess(x, fs, spec)
    np.testing.assert_allclose(rec.lead("I"), cond, atol=1e-6)  # Lead I is the input itself
    for k in range(6, 12):  # V1..V6 straight from the model, stitched without seams
        np.testing.assert_allclose(rec.p_signal[:, k], (k + 1) * cond, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(rec.lead("II"), 2 * cond, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(rec.lead("III"), rec.lead("II") - rec.lead("I"), atol=1e-5)
    np.testing.assert_allclose(rec.lead("aVF"), rec.lead("II") - rec.lead("I") / 2, atol=1e-5)


def test_long_recording_has_no_seams_and_no_limit(tiny_model: Path) -> None:
    fs = 500.0
    x = lead_i(600.0, fs)  # ten minutes
    rec = ecg12.reconstruct(x, fs=fs, out_fs=fs)
    assert rec.p_signal.shape == (x.size, 12)
    v6 = rec.lead("V6") / 12
    np.testing.assert_allclose(v6, rec.lead("I"), atol=1e-3)


def test_reconstruct_many_matches_one_by_one(tiny_model: Path) -> None:
    model = ecg12.load()
    xs = [lead_i(s, 360.0, seed=s) for s in (3, 10, 25)]
    together = model.reconstruct_many(xs, fs=360.0)
    for x, rec in zip(xs, together, strict=True):
        np.testing.assert_allclose(rec.p_signal, model.reconstruct(x, fs=360.0).p_signal, atol=1e-5)


def test_reconstruct_many_can_return_a_refused_input_in_its_place(tiny_model: Path) -> None:
    """An archive is not stopped by one bad input: its error takes its place, the others are
    reconstructed as they would be without it; by default the first bad input raises."""
    model = ecg12.load()
    good = [lead_i(10.0, 500.0, seed=1), lead_i(12.0, 500.0, seed=2)]
    flat = np.zeros(5000)
    out = model.reconstruct_many([good[0], flat, good[1]], fs=500.0, errors="return")
    assert isinstance(out[1], ecg12.InputError) and "flat" in str(out[1])
    alone = model.reconstruct_many(good, fs=500.0)
    for rec, ref in zip([out[0], out[2]], alone, strict=True):
        np.testing.assert_array_equal(rec.p_signal, ref.p_signal)
    with pytest.raises(ecg12.InputError, match="flat"):
        model.reconstruct_many([good[0], flat], fs=500.0)
    assert model.reconstruct_many([flat], fs=500.0, errors="return")[0].args == out[1].args
    with pytest.raises(ValueError, match="errors must be one of raise, return"):
        model.reconstruct_many(good, fs=500.0, errors="ignore")  # type: ignore[call-overload]


@pytest.mark.parametrize(
    "make, problem",
    [
        (lambda: (lead_i(1.0, 500.0), 500.0), "too short"),
        (lambda: (np.full(5000, np.nan), 500.0), "NaN"),
        (lambda: (np.zeros(5000), 500.0), "flat"),
        (lambda: (lead_i(10.0, 50.0), 50.0), "below"),
        (lambda: (np.zeros((5000, 2)), 500.0), r"<array>: no Lead I \(channels: ch1, ch2\)"),
        (lambda: (np.zeros((2, 3, 5000)), 500.0), "1-D or 2-D numeric array"),
    ],
)
def test_bad_arrays_are_refused_with_a_reason(tiny_model: Path, make, problem: str) -> None:
    x, fs = make()
    with pytest.raises(ecg12.InputError, match=problem):
        ecg12.reconstruct(x, fs=fs)


def test_array_needs_a_rate(tiny_model: Path) -> None:
    with pytest.raises(ecg12.InputError, match="sampling rate"):
        ecg12.reconstruct(lead_i(10.0, 500.0))


def test_cuda_is_an_error_where_unavailable_and_auto_says_so(tiny_model: Path) -> None:
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this machine has CUDA; the refusal path cannot be exercised")
    with pytest.raises(ecg12.ModelError, match="CUDA"):
        ecg12.load(device="cuda")
    model = ecg12.load(device="auto")
    assert model.device == "cpu" and "CPU" in model.device_note


def test_sessions_sleep_rather_than_spin(tiny_model: Path) -> None:
    """Idle onnxruntime threads must not burn the cores the reading and writing threads need."""
    options = ecg12.load().session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_file_input_and_write_round_trip(tiny_model: Path, tmp_path: Path) -> None:
    rec = ecg12.reconstruct(EXAMPLE)
    assert rec.source == str(EXAMPLE) and rec.input_format == "wfdb" and rec.input_lead == "I"
    written = rec.write(tmp_path)
    assert sorted(p.name for p in written) == ["lead_i_12lead.dat", "lead_i_12lead.hea"]
    back = wfdb.rdrecord(str(tmp_path / "lead_i_12lead"))
    assert back.sig_name == list(ecg12.LEAD_NAMES) and back.fs == 500
    np.testing.assert_allclose(back.p_signal, rec.p_signal, atol=1e-3)  # µV resolution
    assert any("not a measured ECG" in c for c in back.comments)
    assert any("model tiny" in c for c in back.comments)
    with pytest.raises(FileExistsError):
        rec.write(tmp_path)


def test_result_speaks_wfdb_and_prints_in_one_line(tiny_model: Path, tmp_path: Path) -> None:
    """``n_sig``, ``sig_len`` and ``to_wfdb()`` as wfdb names them: the Record that wfdb writes
    is the file ecg12 writes, byte for byte; the repr is one line, not the samples."""
    rec = ecg12.reconstruct(EXAMPLE)
    assert (rec.sig_len, rec.n_sig) == rec.p_signal.shape and rec.n_sig == 12
    ours = rec.write(tmp_path / "ours")
    record = rec.to_wfdb()
    assert isinstance(record, wfdb.Record) and record.comments == rec.comments
    (tmp_path / "wfdb").mkdir()
    record.wrsamp(write_dir=str(tmp_path / "wfdb"))
    for path in ours:
        assert (tmp_path / "wfdb" / path.name).read_bytes() == path.read_bytes(), path.name
    text = repr(rec)
    assert "\n" not in text and len(text) < 200
    assert "lead_i.hea" in text and "model tiny" in text and f"{rec.sig_len} samples" in text


def test_inputs_are_never_modified(tiny_model: Path, tmp_path: Path) -> None:
    import shutil

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for suffix in (".hea", ".dat"):
        shutil.copy(EXAMPLE.with_suffix(suffix), inputs / f"lead_i{suffix}")
    before = {p.name: p.read_bytes() for p in inputs.iterdir()}
    ecg12.reconstruct(inputs / "lead_i.hea").write(inputs)
    after = {p.name: p.read_bytes() for p in inputs.iterdir()}
    assert {k: after[k] for k in before} == before and len(after) == len(before) + 2


def test_lead_selection_on_a_record_without_lead_i(
    tiny_model: Path, shared_data: Path, tmp_path: Path
) -> None:
    src = wfdb.rdrecord(str(shared_data / "fixtures/ptbxl-native/records500/00000/00001_hr"))
    wfdb.wrsamp(
        "chan",
        fs=src.fs,
        units=["mV", "mV"],
        sig_name=["ECG1", "ECG2"],
        p_signal=src.p_signal[:, :2],
        fmt=["16", "16"],
        write_dir=str(tmp_path),
    )
    with pytest.raises(ecg12.InputError, match="Lead I"):
        ecg12.reconstruct(tmp_path / "chan.hea")
    rec = ecg12.reconstruct(tmp_path / "chan.hea", lead="ecg1")
    assert rec.input_lead == "ECG1"


def test_shipped_model_reconstructs_real_ecgs(shared_data: Path) -> None:
    """The bundled default on real PTB-XL records: a hash-verified file and sane accuracy."""
    from training.data import VALID_FOLD, load_record, read_index
    from training.metrics import score

    model = ecg12.load(device="cpu")
    assert model.card.bundled and model.card.name == ecg12.load_registry().default
    records = [r for r in read_index(shared_data / "ptbxl") if r.fold == VALID_FOLD][:8]
    real = [load_record(r.path)[0] for r in records]
    recs = model.reconstruct_many([x[:, 0] for x in real], fs=500.0)
    s = score(np.stack(real), np.stack([r.p_signal for r in recs]), 500.0)
    # Far above chance (0) and above the linear floor (~0.59 on all of fold 9).
    assert s["mean_r"] > 0.6 and s["mae_mv"] < 0.1
