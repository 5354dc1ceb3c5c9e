"""Issue 14: every standard lead a file names, an any-lead model that takes them, Lead I unchanged.

Real files in real formats (the project's Holter and six-lead examples, WFDB, EDF and CSV
written here, PTB-XL where ../shared/data is present) through real onnxruntime sessions of the
tiny known-answer models in tests/runtime/anylead.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import wfdb
from anylead import GAINS, OFFSET, write_anylead_bundle
from click.testing import CliRunner
from edffile import write_edf
from test_stream import holter

import ecg12
from ecg12.cli import main
from ecg12.dsp import amplitude
from ecg12.leads import LEAD_NAMES, LIMB_BASIS
from ecg12.preprocess import preprocess
from ecg12.readers import (
    from_array,
    lead_request,
    read_recording,
    select_leads,
    standard_lead,
)
from ecg12.result import DISCLAIMER
from ecg12.sources import open_for
from ecg12.stream import Stream
from ecg12.trust import FEATURES, features

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LEAD_I = EXAMPLES / "lead_i.hea"
HOLTER = EXAMPLES / "holter_mlii_v5.hea"
SIX = EXAMPLES / "six_lead.hea"
LIMB = list(LEAD_NAMES[:6])


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


def conditioned(path: Path, spec) -> np.ndarray:
    """Each channel of a WFDB record conditioned on its own, as the model sees it."""
    rec = wfdb.rdrecord(str(path.with_suffix("")))
    return np.stack(
        [preprocess(rec.p_signal[:, j], rec.fs, spec) for j in range(rec.n_sig)], axis=1
    )


def assert_consistent(leads: np.ndarray, atol: float = 1e-5) -> None:
    """Einthoven's and Goldberger's laws."""
    i, ii, iii, avr, avl, avf = leads[:, :6].T
    np.testing.assert_allclose(iii, ii - i, atol=atol)
    np.testing.assert_allclose(avr, -(i + ii) / 2, atol=atol)
    np.testing.assert_allclose(avl, i - ii / 2, atol=atol)
    np.testing.assert_allclose(avf, ii - i / 2, atol=atol)


def edit_card(registry: Path, **changes: object) -> None:
    data = json.loads(registry.read_text())
    data["models"]["anylead"].update(changes)
    registry.write_text(json.dumps(data))


def trust_by_inputs(given: tuple[str, ...]) -> dict:
    """A calibration whose expected error is 0.05 mV x sqrt(lead amplitude / reference's)."""
    estimated = [n for n in LEAD_NAMES if n not in given]
    return {
        "features": list(FEATURES),
        "coef": {n: [float(np.log(0.05)), -0.5, 0.5, 0.0, 0.0, 0.0, 0.0] for n in estimated},
        "sigma": {n: 0.4 for n in estimated},
        "grades_ratio": [0.05, 0.15],
        "method": "test",
    }


# --- which leads a file names -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "lead"),
    [
        ("I", "I"),
        ("i", "I"),
        ("Lead II", "II"),
        ("ECG V1", "V1"),
        ("ECG_Lead_V5", "V5"),
        ("AVR", "aVR"),
        ("avr", "aVR"),
        ("aVF", "aVF"),
        ("DII", "II"),
        ("D2", "II"),
        ("DIII", "III"),
        ("MLI", "I"),
        ("MLII", "II"),
        ("MLIII", "III"),
        ("MCL1", None),
        ("CM5", None),
        ("CC5", None),
        ("V", None),
        ("ECG", None),
        ("ECG1", None),
        ("ch1", None),
        ("Resp", None),
    ],
)
def test_standard_lead_spellings(name: str, lead: str | None) -> None:
    assert standard_lead(name) == lead


def test_holter_example_is_read_as_ii_and_v5() -> None:
    rec = read_recording(HOLTER)
    ref = wfdb.rdrecord(str(HOLTER.with_suffix("")))
    assert (rec.fs, rec.sig_name, rec.signal.shape) == (360.0, ["MLII", "V5"], (10800, 2))
    np.testing.assert_allclose(rec.signal, ref.p_signal, atol=1e-9)
    chosen, notes = select_leads(rec)
    assert [(c.lead, c.channel, c.required) for c in chosen] == [
        ("II", "MLII", False),
        ("V5", "V5", False),
    ]
    assert notes == [
        f"{HOLTER}: channel MLII is a modified limb lead (electrodes on the torso, as on "
        "Holters), taken as Lead II"
    ]


def test_six_lead_example_is_read_as_six_consistent_limb_leads() -> None:
    rec = read_recording(SIX)
    assert (rec.fs, rec.signal.shape) == (300.0, (9000, 6))
    chosen, notes = select_leads(rec)
    assert [c.lead for c in chosen] == LIMB and notes == []
    i, ii, iii, avr, avl, avf = rec.signal.T
    np.testing.assert_allclose(iii, ii - i, atol=1.5e-3)  # stored at 1 uV each
    np.testing.assert_allclose(avr + avl + avf, 0.0, atol=2e-3)
    np.testing.assert_allclose(np.stack([i, ii], 1) @ LIMB_BASIS.T, rec.signal, atol=1.5e-3)


def test_real_records_offer_their_standard_leads(shared_data: Path) -> None:
    ptbxl = read_recording(shared_data / "fixtures/ptbxl-native/records500/00000/00001_hr")
    chosen, notes = select_leads(ptbxl)
    assert [c.lead for c in chosen] == list(LEAD_NAMES) and notes == []
    ptb = read_recording(shared_data / "fixtures/ptb-diagnostic/s0010_re")  # i ... v6 vx vy vz
    chosen, notes = select_leads(ptb)
    assert [c.lead for c in chosen] == list(LEAD_NAMES)
    assert [c.channel for c in chosen][:4] == ["i", "ii", "iii", "avr"]
    assert notes == [
        f"{ptb.source}: channels without a standard lead name left out: vx, vy, vz "
        "(--leads CHANNEL=LEAD uses one as a lead)"
    ]


def test_edf_and_csv_lead_names(tmp_path: Path) -> None:
    x = wfdb.rdrecord(str(SIX.with_suffix(""))).p_signal
    signals = [("ECG I", "uV", x[:, 0] * 1000, 300), ("ECG II", "uV", x[:, 1] * 1000, 300)]
    signals.append(("Resp", "uV", x[:, 2] * 1000, 300))
    edf = read_recording(write_edf(tmp_path / "patch.edf", signals, annotations=True))
    chosen, notes = select_leads(edf)
    assert [(c.lead, c.channel) for c in chosen] == [("I", "ECG I"), ("II", "ECG II")]
    assert "left out: Resp" in notes[0]
    lines = ["time_s;Lead II;avl;ECG"] + [
        f"{k / 300:.5f};{a:.4f};{b:.4f};{c:.4f}" for k, (a, b, c) in enumerate(x[:, [1, 4, 0]])
    ]
    (tmp_path / "three.csv").write_text("\n".join(lines) + "\n")
    csv = read_recording(tmp_path / "three.csv")
    chosen, notes = select_leads(csv)
    assert [(c.lead, c.channel) for c in chosen] == [("II", "Lead II"), ("aVL", "avl")]
    assert "left out: ECG" in notes[0]


def test_unnamed_and_modified_chest_channels_need_naming(tmp_path: Path) -> None:
    x = wfdb.rdrecord(str(HOLTER.with_suffix(""))).p_signal
    two = from_array(x, 360.0)
    with pytest.raises(ecg12.InputError) as info:
        select_leads(two)
    assert str(info.value) == (
        "<array>: no channel is named as a standard lead (channels: ch1, ch2); say which lead "
        "each is with --leads CHANNEL=LEAD (e.g. ch1=II)"
    )
    lines = ["MCL1,CM5"] + [f"{a:.4f},{b:.4f}" for a, b in x]
    (tmp_path / "mcl.csv").write_text("# fs = 360\n" + "\n".join(lines) + "\n")
    mcl = read_recording(tmp_path / "mcl.csv")
    with pytest.raises(ecg12.InputError, match=r"mcl\.csv: no channel is named"):
        select_leads(mcl)
    chosen, _ = select_leads(mcl, lead_request("cm5=V5,MCL1=V1"))
    assert [(c.lead, c.channel, c.required) for c in chosen] == [
        ("V1", "MCL1", True),
        ("V5", "CM5", True),
    ]
    (tmp_path / "ecg.csv").write_text("# fs = 360\nECG\n" + "\n".join(f"{a:.4f}" for a in x[:, 0]))
    chosen, notes = select_leads(read_recording(tmp_path / "ecg.csv"))
    assert [(c.lead, c.channel) for c in chosen] == [("I", "ECG")]
    assert notes == [f"{tmp_path / 'ecg.csv'}: channel ECG carries no lead name; taken as Lead I"]


@pytest.mark.parametrize(
    ("request_", "leads"),
    [
        ("II,V5", ["II", "V5"]),
        (["v5"], ["V5"]),
        ({"MLII": "II"}, ["II"]),
        ("V5, MLII", ["II", "V5"]),
    ],
)
def test_leads_can_be_chosen(request_: object, leads: list[str]) -> None:
    chosen, _ = select_leads(read_recording(HOLTER), lead_request(request_))
    assert [c.lead for c in chosen] == leads and all(c.required for c in chosen)


@pytest.mark.parametrize(
    ("request_", "problem"),
    [
        ("X", "unknown lead 'X' in --leads; the standard leads are I, II, III, aVR"),
        ("mlii=Q", "unknown lead 'Q' in --leads"),
        ("II,ii", "lead II is given twice in --leads"),
        ("MLII=II,MLII=V5", "channel MLII is given twice in --leads"),
        ("V1", "no channel for lead V1 (channels: MLII, V5)"),
        ("ch3=II", "no channel 'ch3' (channels: MLII, V5)"),
    ],
)
def test_lead_choice_errors_name_the_file(request_: str, problem: str) -> None:
    with pytest.raises(ecg12.InputError) as info:
        select_leads(read_recording(HOLTER), lead_request(request_))
    assert str(info.value).startswith(f"{HOLTER}: {problem}")


def test_leads_of_a_wrong_kind_are_refused() -> None:
    with pytest.raises(ecg12.InputError, match="leads must be lead names"):
        lead_request(5)
    with pytest.raises(ecg12.InputError, match="leads names no lead"):
        lead_request(" , ")


# --- which model runs ---------------------------------------------------------------------------


def test_lead_i_alone_keeps_the_default_exactly(anylead_model: Path, tiny_registry: Path) -> None:
    rec = ecg12.reconstruct(LEAD_I)
    assert (rec.model, rec.given_leads, rec.input_leads) == ("tiny", None, ["I"])
    alone = ecg12.load("tiny", registry=ecg12.load_registry(tiny_registry))
    before = alone.reconstruct(LEAD_I)
    np.testing.assert_array_equal(rec.p_signal, before.p_signal)
    assert rec.comments == before.comments and rec.disclaimer == DISCLAIMER
    x = wfdb.rdrecord(str(LEAD_I.with_suffix(""))).p_signal
    assert ecg12.reconstruct(x[:, 0], fs=500).model == "tiny"  # a single unnamed channel
    assert ecg12.reconstruct(LEAD_I, leads="I").model == "tiny"


def test_other_leads_choose_the_any_lead_default(anylead_model: Path) -> None:
    holter_rec = ecg12.reconstruct(HOLTER)
    assert (holter_rec.model, holter_rec.given_leads) == ("anylead", ["II", "V5"])
    assert holter_rec.input_lead == "II+V5" and holter_rec.input_channels == ["MLII", "V5"]
    assert "estimated from leads II, V5; not a measured ECG" in holter_rec.disclaimer
    assert "input: " + str(HOLTER) + ", leads II (channel MLII), V5, 360 Hz, wfdb" in (
        holter_rec.comments
    )
    assert "measured leads: II, V5; estimated: I, III, aVR, aVL, aVF, V1, V2, V3, V4, V6" in (
        holter_rec.comments
    )
    six = ecg12.reconstruct(SIX)
    assert (six.model, six.given_leads, six.input_leads) == ("anylead", LIMB, LIMB)


def test_explicit_models_keep_their_contract(anylead_model: Path) -> None:
    lead_i_model = ecg12.reconstruct(SIX, model="tiny")  # Lead I of the file, as before
    assert (lead_i_model.input_leads, lead_i_model.given_leads) == (["I"], None)
    any_model = ecg12.load("anylead")
    assert (any_model.inputs, ecg12.load("tiny").inputs) == ("any", "lead_i")
    on_lead_i = any_model.reconstruct(LEAD_I)
    assert (on_lead_i.model, on_lead_i.given_leads) == ("anylead", ["I"])
    assert on_lead_i.disclaimer == DISCLAIMER
    assert any_model.reconstruct(HOLTER, leads="V5").given_leads == ["V5"]
    with pytest.raises(ecg12.InputError, match="the model takes Lead I only, not leads II, V5"):
        ecg12.reconstruct(HOLTER, model="tiny", leads="II,V5")


def test_without_an_any_lead_default_nothing_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = write_anylead_bundle(tmp_path / "bundle", any_lead_default=False)
    monkeypatch.setenv("ECG12_REGISTRY", str(registry))
    with pytest.raises(ecg12.InputError, match=r"no Lead I \(channels: MLII, V5\)"):
        ecg12.reconstruct(HOLTER)
    assert ecg12.reconstruct(SIX).model == "tiny"
    with pytest.raises(ecg12.InputError, match="need a model that takes any leads"):
        ecg12.reconstruct(HOLTER, leads="II,V5")
    rec = ecg12.reconstruct(HOLTER, lead="MLII", accept_other_lead=True)
    assert rec.model == "tiny" and rec.from_other_lead


def test_unnamed_channels_are_mapped_with_leads(anylead_model: Path) -> None:
    x = wfdb.rdrecord(str(HOLTER.with_suffix(""))).p_signal
    with pytest.raises(ecg12.InputError, match=r"no Lead I \(channels: ch1, ch2\)"):
        ecg12.reconstruct(x, fs=360)
    mapped = ecg12.reconstruct(x, fs=360, leads={"ch1": "II", "ch2": "V5"})
    assert (mapped.model, mapped.given_leads, mapped.input_channels) == (
        "anylead",
        ["II", "V5"],
        ["ch1", "ch2"],
    )
    np.testing.assert_allclose(mapped.p_signal, ecg12.reconstruct(HOLTER).p_signal, atol=1e-6)


# --- what the any-lead model gives ---------------------------------------------------------------


def test_holter_known_answer_and_pass_through(anylead_model: Path) -> None:
    rec = ecg12.reconstruct(HOLTER, out_fs=None)
    spec = ecg12.load("anylead").spec
    ii, v5 = conditioned(HOLTER, spec).T
    assert rec.fs == spec.fs and rec.p_signal.shape == (ii.size, 12)
    np.testing.assert_allclose(rec.lead("II"), ii, atol=1e-6)  # passed through
    np.testing.assert_allclose(rec.lead("V5"), v5, atol=1e-6)
    model = (ii + v5)[:, None] * GAINS + 2 * OFFSET  # two leads given
    for k in (6, 7, 8, 9, 11):
        np.testing.assert_allclose(rec.p_signal[:, k], model[:, k], rtol=1e-4, atol=1e-5)
    # One limb lead given: the model's (I, II) moved along (0, 1) only, so I is the model's.
    np.testing.assert_allclose(rec.lead("I"), model[:, 0], rtol=1e-4, atol=1e-5)
    assert_consistent(rec.p_signal)


def test_six_lead_known_answer(anylead_model: Path) -> None:
    rec = ecg12.reconstruct(SIX, out_fs=None)
    spec = ecg12.load("anylead").spec
    given = conditioned(SIX, spec)
    np.testing.assert_allclose(rec.p_signal[:, :6], given, atol=2e-3)  # 1 uV rounding, fitted
    total = 2 * rec.lead("II")  # the six limb leads add up to 2 x II
    for k in range(6, 12):
        want = total * GAINS[k] + 6 * OFFSET
        np.testing.assert_allclose(rec.p_signal[:, k], want, rtol=1e-4, atol=1e-4)
    assert_consistent(rec.p_signal)
    assert_consistent(ecg12.reconstruct(SIX).p_signal)  # and at 500 Hz


@pytest.mark.parametrize(
    "leads",
    [("III",), ("aVL", "V2"), ("I", "II", "V1", "V6"), ("V3",), ("aVR", "aVF"), tuple(LEAD_NAMES)],
)
def test_every_input_set_passes_its_leads_through(
    anylead_model: Path, leads: tuple[str, ...]
) -> None:
    six = wfdb.rdrecord(str(SIX.with_suffix(""))).p_signal
    ii = six[:, 1]
    twelve = np.hstack([six, np.stack([ii * (0.2 * k + 0.3) for k in range(6)], 1)])
    twelve[:, :6] = twelve[:, :2] @ LIMB_BASIS.T  # exactly consistent limb leads
    rec = ecg12.reconstruct(twelve, fs=300, leads=",".join(leads), out_fs=None)
    spec = ecg12.load("anylead").spec
    for name in leads:
        want = preprocess(twelve[:, LEAD_NAMES.index(name)], 300.0, spec)
        np.testing.assert_allclose(rec.lead(name), want, atol=1e-5)
    assert_consistent(rec.p_signal)
    assert rec.input_leads == [n for n in LEAD_NAMES if n in leads]


def test_unusable_leads_are_left_out_unless_named(anylead_model: Path, tmp_path: Path) -> None:
    x = wfdb.rdrecord(str(HOLTER.with_suffix(""))).p_signal
    x[:, 1] = 0.0  # V5's electrode is off
    wfdb.wrsamp(
        "flat",
        fs=360,
        units=["mV"] * 2,
        sig_name=["MLII", "V5"],
        p_signal=x,
        fmt=["16"] * 2,
        write_dir=str(tmp_path),
    )
    path = tmp_path / "flat.hea"
    rec = ecg12.reconstruct(path)
    assert rec.given_leads == ["II"] and rec.model == "anylead"
    left = [w for w in rec.warnings if "left out" in w]
    assert left == [
        f"{path}, lead V5: flat signal (p1-p99 range 0.0000 mV): electrode off?; left out"
    ]
    with pytest.raises(ecg12.InputError) as info:
        ecg12.reconstruct(path, leads="II,V5")
    assert str(info.value).startswith(f"{path}, lead V5: flat signal")
    x[:, 0] = 0.0
    np.save(tmp_path / "both.npy", x)
    with pytest.raises(ecg12.InputError, match=r"both\.npy, lead I: flat signal"):
        ecg12.reconstruct(tmp_path / "both.npy", fs=360, leads={"ch1": "I", "ch2": "V1"})


# --- how far to trust it --------------------------------------------------------------------------


def test_trust_by_input_set(anylead_model: Path, tmp_path: Path) -> None:
    edit_card(anylead_model, trust_by_inputs={"II+V5": trust_by_inputs(("II", "V5"))})
    rec = ecg12.reconstruct(HOLTER)
    amp = np.maximum(amplitude(rec.p_signal), 1e-3)
    want = 0.05 * np.sqrt(amp / amp[1])  # the reference is II, the first given lead
    want[[1, 10]] = 0.0
    np.testing.assert_allclose(rec.expected_error_mv, want, rtol=1e-6)
    assert rec.grades[1] == rec.grades[10] == "measured"
    ratio = want / amp
    for k in (0, 2, 3, 4, 5, 6, 7, 8, 9, 11):
        assert rec.grades[k] == (
            "good" if ratio[k] < 0.05 else "fair" if ratio[k] < 0.15 else "poor"
        )
    six = ecg12.reconstruct(SIX)
    assert six.expected_error_mv is None and six.grades is None
    assert any(
        "has no error calibration for leads I+II+III+aVR+aVL+aVF given (calibrated: II+V5)" in w
        for w in six.warnings
    )


def test_trust_by_input_set_in_files_cli_and_pictures(anylead_model: Path, tmp_path: Path) -> None:
    from ecg12.plot import read_printout

    edit_card(anylead_model, trust_by_inputs={"II+V5": trust_by_inputs(("II", "V5"))})
    out, table = tmp_path / "out", tmp_path / "summary.csv"
    result = run("reconstruct", HOLTER, "-o", out, "--plot", "--summary", table)
    assert result.exit_code == 0, result.output
    assert "(model anylead, measured II, V5)" in result.output and "error mV" in result.output
    import pandas as pd

    row = pd.read_csv(table).iloc[0]
    assert (row["model"], row["input_leads"]) == ("anylead", "II+V5")
    assert row["expected_error_mv_II"] == 0 and row["expected_error_mv_V1"] > 0
    printout = read_printout(out / "holter_mlii_v5_12lead.hea")
    assert printout.measured == ["II", "V5"] and printout.grades[10] == "measured"
    assert run("plot", out / "holter_mlii_v5_12lead.hea", "-o", tmp_path / "p.png").exit_code == 0
    texts = [t.get_text() for t in ecg12.reconstruct(HOLTER).plot().texts]
    assert "estimated from leads II, V5; not a measured ECG and not for diagnosis on its own" in (
        texts
    )
    assert "good" in texts or "fair" in texts  # the legend of the estimated leads' grades


def test_measured_leads_are_tagged_without_a_calibration(anylead_model: Path) -> None:
    fig = ecg12.reconstruct(SIX).plot()
    tags = [t.get_text() for ax in fig.axes for t in ax.texts if t.get_text() == "measured"]
    assert len(tags) == 6 + 1  # the six limb leads and the Lead II rhythm strip


def test_features_take_a_reference_lead() -> None:
    t = np.arange(5000) / 500
    leads = np.stack([np.sin(2 * np.pi * t) * (k + 1) for k in range(12)], axis=1)
    spread = np.full(12, 0.01)
    np.testing.assert_array_equal(features(leads, 500.0, spread), features(leads, 500.0, spread, 0))
    x = features(leads, 500.0, spread, reference=3)
    np.testing.assert_allclose(np.exp(x[:, 1]), amplitude(leads)[3])


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"inputs": "all"}, "field 'inputs' may only be \"any\", got 'all'"),
        ({"inputs": 1}, "field 'inputs' must be a string"),
        ({"trust": {}}, "field 'trust' does not fit this model's inputs; use 'trust_by_inputs'"),
        ({"trust_by_inputs": {"I+II": {}}}, "two or more limb leads determine all six"),
        ({"trust_by_inputs": {"II+I+III+aVR+aVL+aVF": {}}}, "in standard order"),
        ({"trust_by_inputs": {"V7": {}}}, "'V7' is not standard lead names"),
        ({"trust_by_inputs": {"V1": trust_by_inputs(())}}, "one coefficient row per"),
    ],
)
def test_registry_checks_any_lead_cards(anylead_model: Path, change: dict, problem: str) -> None:
    edit_card(anylead_model, **change)
    with pytest.raises(ecg12.ModelError) as info:
        ecg12.load_registry()
    assert "model 'anylead'" in str(info.value) and problem in str(info.value)


@pytest.mark.parametrize(
    ("default", "problem"),
    [("tiny", 'must name a model with "inputs": "any", got \'tiny\''), (5, "must be a string")],
)
def test_registry_checks_the_any_lead_default(
    anylead_model: Path, default: object, problem: str
) -> None:
    data = json.loads(anylead_model.read_text())
    data["any_lead_default"] = default
    anylead_model.write_text(json.dumps(data))
    with pytest.raises(ecg12.ModelError, match="any_lead_default") as info:
        ecg12.load_registry()
    assert problem in str(info.value)


def test_lead_i_cards_refuse_trust_by_inputs(anylead_model: Path) -> None:
    data = json.loads(anylead_model.read_text())
    data["models"]["tiny"]["trust_by_inputs"] = {}
    anylead_model.write_text(json.dumps(data))
    with pytest.raises(ecg12.ModelError, match="'trust_by_inputs' does not fit"):
        ecg12.load_registry()


def test_model_checks_its_contract(anylead_model: Path) -> None:
    model = ecg12.load("anylead")
    with pytest.raises(ValueError, match="takes given and present"):
        model.predict(np.zeros((2, 12, 512), np.float32))
    out = model.predict(np.ones((40, 12, 512), np.float32), np.ones((40, 12), np.float32))
    np.testing.assert_allclose(out[:, :, 0], np.tile(GAINS * 12 + 12 * OFFSET, (40, 1)), rtol=1e-6)
    data = json.loads(anylead_model.read_text())
    card = data["models"]["tiny"]
    data["models"]["anylead"].update(file=card["file"], sha256=card["sha256"])
    data["models"]["anylead"]["size_bytes"] = card["size_bytes"]
    anylead_model.write_text(json.dumps(data))
    with pytest.raises(ecg12.ModelError, match="expected input 'given' and 'present'"):
        ecg12.load("anylead")


# --- ecg12 info ----------------------------------------------------------------------------------


def test_info_says_which_leads_and_model(anylead_model: Path) -> None:
    result = run("info", HOLTER)
    assert result.exit_code == 0, result.output
    for expected in (
        "standard leads │ II, V5",
        "leads used │ II (channel MLII), V5",
        "model      │ anylead 1.0.0 (takes any standard leads)",
        "│ II   │ MLII",
        "│ V5   │ V5",
    ):
        assert expected in result.output, result.output
    said = " ".join(result.output.split())  # as the terminal wraps it
    assert f"note: {HOLTER}: channel MLII is a modified limb lead" in said
    lead_i = run("info", LEAD_I)
    assert "tiny 1.0.0 (takes Lead I only)" in lead_i.output and "channel" in lead_i.output
    six = run("info", SIX, "--model", "tiny")
    assert "not used   │ II, III, aVR, aVL, aVF: the model takes Lead I only" in six.output
    assert "leads used │ V5 " in run("info", HOLTER, "--leads", "V5").output


# --- the batch command ---------------------------------------------------------------------------


def test_batch_of_mixed_files_chooses_a_model_per_file(
    anylead_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    import pandas as pd

    import ecg12.cli.batch as batch
    from ecg12.model import Model

    folder = tmp_path / "in"
    folder.mkdir()
    for path in (LEAD_I, HOLTER, SIX):
        for suffix in (".hea", ".dat"):
            shutil.copy(path.with_suffix(suffix), folder / path.with_suffix(suffix).name)
    (folder / "broken.csv").write_text("time_s,I\n0.0,abc\n")
    loads, calls = [], []
    load = batch.load
    monkeypatch.setattr(batch, "load", lambda name, **kw: loads.append(name) or load(name, **kw))
    predict = Model.predict
    monkeypatch.setattr(
        Model,
        "predict",
        lambda self, *a: calls.append((self.name, len(a[0]), self.batch_size)) or predict(self, *a),
    )
    out, table = tmp_path / "out", tmp_path / "summary.csv"
    result = run("reconstruct", folder, "-o", out, "--summary", table, "--workers", "2")
    assert result.exit_code == 1 and "1 of 4 inputs failed" in result.output
    assert loads == ["anylead"]  # the default was loaded before the run; each model once
    assert {name for name, _, _ in calls} == {"anylead", "tiny"}
    for name in ("anylead", "tiny"):  # the files' windows share full batches, model by model
        sizes = [(n, full) for m, n, full in calls if m == name]
        assert all(n == full for n, full in sizes[:-1]) and sizes[-1][0] <= sizes[-1][1]
    summary = pd.read_csv(table).set_index("input")
    models = {Path(k).name: v for k, v in summary["model"].dropna().items()}
    assert models == {
        "lead_i.hea": "tiny",
        "holter_mlii_v5.hea": "anylead",
        "six_lead.hea": "anylead",
    }
    header = wfdb.rdheader(str(out / "holter_mlii_v5_12lead"))
    assert "measured leads: II, V5; estimated: I, III, aVR, aVL, aVF, V1, V2, V3, V4, V6" in (
        header.comments
    )
    assert wfdb.rdheader(str(out / "lead_i_12lead")).comments[2].endswith(", lead I, 500 Hz, wfdb")


def test_cli_leads_option(anylead_model: Path, tmp_path: Path) -> None:
    result = run("reconstruct", HOLTER, "-o", tmp_path / "a", "--leads", "V5")
    assert result.exit_code == 0, result.output
    assert "(model anylead, measured V5)" in result.output
    result = run("reconstruct", HOLTER, LEAD_I, "-o", tmp_path / "b", "--leads", "II,ii")
    assert result.exit_code == 1 and "2 of 2 inputs failed" in result.output
    assert f"error: {HOLTER}: lead II is given twice in --leads" in result.output
    x = wfdb.rdrecord(str(HOLTER.with_suffix(""))).p_signal
    np.save(tmp_path / "two.npy", x)
    args = ["reconstruct", tmp_path / "two.npy", "-o", tmp_path / "c", "--fs", "360"]
    assert "no Lead I (channels: ch1, ch2)" in run(*args).output
    result = run(*args, "--leads", "ch1=II,ch2=V5")
    assert result.exit_code == 0, result.output
    assert "(model anylead, measured II, V5)" in result.output


# --- long records ---------------------------------------------------------------------------


def write_two_leads(folder: Path, seconds: float, fs: float = 250.0) -> Path:
    """A Holter-like two-lead WFDB record (II and V5) with wander, hum and a short gap."""
    folder.mkdir(exist_ok=True)
    x = np.stack([holter(seconds, fs, seed=1), 0.7 * holter(seconds, fs, seed=2)], axis=1)
    wfdb.wrsamp(
        "day",
        fs=fs,
        units=["mV"] * 2,
        sig_name=["II", "V5"],
        p_signal=x,
        fmt=["16"] * 2,
        write_dir=str(folder),
    )
    return folder / "day.hea"


def test_long_multi_lead_record_streams_as_the_whole_record(
    anylead_model: Path, tmp_path: Path
) -> None:
    edit_card(anylead_model, trust_by_inputs={"II+V5": trust_by_inputs(("II", "V5"))})
    path = write_two_leads(tmp_path / "in", 240.0)
    model = ecg12.load("anylead")
    whole = model.reconstruct(path)
    stream = Stream(model, open_for("any", path), 500.0, block_s=60.0)
    np.testing.assert_allclose(np.concatenate(list(stream)), whole.p_signal, rtol=1e-5, atol=1e-6)
    got = stream.result
    assert got.comments == whole.comments and got.given_leads == ["II", "V5"]
    np.testing.assert_allclose(got.expected_error_mv, whole.expected_error_mv, rtol=1e-6)
    with pytest.raises(ValueError, match="not opened for model tiny"):
        Stream(ecg12.load("tiny"), open_for("any", path), 500.0)


def test_long_record_leaves_out_a_lead_that_fails_late(anylead_model: Path, tmp_path: Path) -> None:
    path = write_two_leads(tmp_path / "in", 240.0)
    rec = wfdb.rdrecord(str(path.with_suffix("")))
    x = rec.p_signal.copy()
    x[120 * 250 :, 1] = 0.0  # V5 falls off after two minutes: its second segment is flat
    wfdb.wrsamp(
        "day",
        fs=250,
        units=["mV"] * 2,
        sig_name=["II", "V5"],
        p_signal=x,
        fmt=["16"] * 2,
        write_dir=str(path.parent),
    )
    model = ecg12.load("anylead")
    stream = Stream(model, open_for("any", path), 500.0, segment_s=120.0)
    blocks = np.concatenate(list(stream))
    assert stream.result.given_leads == ["II"]
    assert any("[00:02:00-00:04:00], lead V5: flat signal" in w for w in stream.result.warnings)
    np.testing.assert_allclose(blocks, model.reconstruct(path, leads="II").p_signal, atol=1e-5)


def test_cli_streams_long_multi_lead_records(
    anylead_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ecg12.cli.batch as batch

    monkeypatch.setattr(batch, "STREAM_ABOVE_S", 60.0)
    path = write_two_leads(tmp_path / "in", 90.0)
    result = run("reconstruct", path, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    back = wfdb.rdrecord(str(tmp_path / "out" / "day_12lead"))
    assert back.sig_len == 90 * 500 and "measured leads: II, V5" in " ".join(back.comments)
    assert_consistent(back.p_signal, atol=2e-3)  # stored at 1 uV per lead


@pytest.mark.parametrize("name", ["tiny", "anylead"])
def test_cuda_batches_come_in_few_shapes_and_the_padding_changes_nothing(
    anylead_model: Path, name: str
) -> None:
    """On CUDA each session call holds a multiple of CUDA_SHAPES windows (cuDNN searches its
    kernels anew for each input shape), the padding's outputs dropped. Run on the CPU's real
    session, the model told it is on CUDA: the answers are those of unpadded batches."""
    from ecg12.model import CUDA_SHAPES

    model = ecg12.load(name, device="cpu")
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2 * 1024 + 9, 12, model.spec.window)).astype(np.float32)
    args = [x[:, 0]]
    if model.inputs == "any":
        present = (rng.random((len(x), 12)) < 0.5).astype(np.float32)
        args = [x * present[:, :, None], present]
    expected = model.predict(*args)
    sizes: list[int] = []
    session = model.session

    class Seen:
        def run(self, names: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
            sizes.append(len(next(iter(feeds.values()))))
            return session.run(names, feeds)

    model.session, model.device = Seen(), "cuda"  # type: ignore[assignment]
    got = model.predict(*args)
    assert sizes == [1024, 1024, CUDA_SHAPES]  # 9 windows padded
    np.testing.assert_array_equal(got, expected)
