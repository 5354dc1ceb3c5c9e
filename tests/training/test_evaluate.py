"""training.evaluate: real PTB-XL records through the public API, a tiny real ONNX model, and
known-answer checks of the scores it reports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from lowrate import write_low_rate_fold

from ecg12.dsp import bandpass
from ecg12.leads import INDEPENDENT_LEADS, LEAD_NAMES
from training.data import load_record, read_index
from training.evaluate import evaluate, main
from training.metrics import RECONSTRUCTED, eval_band, pearson_rows, score, sharpness_ratio

FOLD = 9  # ecg_id 8 and 10 in the fixture
FS = 500.0


@pytest.fixture(scope="module")
def written(
    native: Path, tiny_registry: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict]:
    """The page and JSON that the command line writes for the tiny model on fold 9."""
    out = tmp_path_factory.mktemp("docs")
    main(
        [
            "--ptbxl",
            str(native),
            "--registry",
            str(tiny_registry),
            "--model",
            "tiny",
            "--fold",
            str(FOLD),
            "--out",
            str(out / "results.md"),
            "--json",
            str(out / "results.json"),
        ]
    )
    return (out / "results.md").read_text(), json.loads((out / "results.json").read_text())


def test_result_has_scores_timing_and_card(written: tuple[str, dict]) -> None:
    _, body = written
    (res,) = body["models"]
    assert res["model"] == "tiny" and res["fold"] == FOLD
    assert res["ecg_ids"] == [8, 10] and res["records"] == 2 and res["refused"] == []
    s = res["scores"]
    assert s["records"] == 2 and len(s["record_mae_mv"]) == 2
    assert set(s["per_lead"]) == set(RECONSTRUCTED)
    # tiny's aVL is I - II / 2 = I - I = 0, which has no correlation (and so neither has the mean).
    assert np.isnan(s["per_lead"]["aVL"]["r"]) and np.isnan(s["mean_r"])
    assert all(-1 <= s["per_lead"][n]["r"] <= 1 for n in RECONSTRUCTED if n != "aVL")
    assert 0 < s["mae_mv"] < s["rmse_mv"] < 5
    assert 0 < res["cpu_seconds_per_10s_record"] < 5
    assert res["lead_i_r_min"] > 0.99  # the input comes back aligned with the record
    assert res["training"] == {"epochs": 1} and res["size_bytes"] > 0
    assert body["command"].startswith("python -m training.evaluate --ptbxl ")


def test_known_answer_through_the_api(written: tuple[str, dict], native: Path) -> None:
    """tiny's III is Lead I and its V1 is 7 x Lead I, so their scores follow from the records."""
    (res,) = written[1]["models"]
    records = [r for r in read_index(native) if r.fold == FOLD]
    real = eval_band(np.stack([load_record(r.path)[0] for r in records]), FS)
    lead_i = real[..., :1]
    for name, gain in (("III", 1.0), ("V1", 7.0), ("aVR", -1.5)):
        target = real[..., LEAD_NAMES.index(name)][..., None]
        r = pearson_rows(lead_i, target)[:, 0].mean()
        mae = np.abs(target - gain * lead_i).mean()
        got = res["scores"]["per_lead"][name]
        assert got["r"] == pytest.approx(np.sign(gain) * r, abs=0.01)
        assert got["mae_mv"] == pytest.approx(mae, rel=0.03)


def test_page_has_tables_reference_and_credit(written: tuple[str, dict]) -> None:
    page, body = written
    assert body["command"] in page
    assert "| **tiny** 1.0.0 | 2 |" in page
    for heading in ("## Summary", "## Per lead: r / MAE / RMSE (mV)", "## Models"):
        assert heading in page
    assert "reference: linear floor" in page and "| 0.59 | 0.080 |" in page
    assert "reference: plain L1 generator" in page and "0.77-0.78" in page
    assert "CC BY 4.0" in page and "Wagner et al." in page
    for lead in RECONSTRUCTED:
        assert f"\n| {lead} | " in page
    mae = body["models"][0]["scores"]["record_mae_mv"]
    assert f"{mae[0]:.4f}" not in page and "record_mae" not in page


def test_100_hz_records_are_scored_as_their_own_part(
    native: Path, tiny_registry: Path, tmp_path: Path
) -> None:
    """The fixture's fold-9 records again, as PTB-XL's 100 Hz versions in a ``ptbxl100/``
    folder: scored with the 500 Hz ones, and on their own, where the same patients score
    alike (tiny's V1-V6 are multiples of Lead I: their r is Lead I's with each at either rate)."""
    records = [r for r in read_index(native, high_rate=False) if r.fold == FOLD]
    cols = [LEAD_NAMES.index(n) for n in INDEPENDENT_LEADS]
    low = np.stack([load_record(r.path)[0][:, cols] for r in records])
    assert low.shape == (2, 1000, 8)
    write_low_rate_fold(tmp_path / "ptbxl100", np.round(low * 1000), [8, 10], fold=FOLD)
    res = evaluate("tiny", native, FOLD, tiny_registry, ptbxl100=tmp_path / "ptbxl100")
    assert res["ecg_ids"] == [8, 10, 8, 10] and res["records"] == 4
    assert res["lead_i_r_min"] > 0.99  # 100 Hz inputs come back aligned with their records
    high, slow = res["parts"]["500 Hz"], res["parts"]["100 Hz"]
    assert "sharpness_ratio" in high and "sharpness_ratio" not in slow  # nothing real above 50 Hz
    assert high["records"] == slow["records"] == 2
    assert set(slow["per_lead_r"]) == set(RECONSTRUCTED)
    for lead in ("V1", "V2", "V3", "V4", "V5", "V6"):  # measured: within 0.012
        assert slow["per_lead_r"][lead] == pytest.approx(high["per_lead_r"][lead], abs=0.03)
    assert res["scores"]["mae_mv"] == pytest.approx((high["mae_mv"] + slow["mae_mv"]) / 2)


def test_test_fold_is_refused(native: Path, tiny_registry: Path) -> None:
    with pytest.raises(ValueError, match="test fold"):
        evaluate("tiny", native, fold=10, registry=tiny_registry)
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "--ptbxl",
                str(native),
                "--registry",
                str(tiny_registry),
                "--model",
                "tiny",
                "--fold",
                "10",
            ]
        )
    assert exc.value.code != 0


def test_unknown_model_is_an_error(native: Path, tiny_registry: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--ptbxl", str(native), "--registry", str(tiny_registry), "--model", "nope"])
    assert exc.value.code != 0


def synthetic(records: int = 12, seconds: float = 10.0) -> np.ndarray:
    """Beat-like records whose amplitude differs per record and lead: (records, samples, 12)."""
    rng = np.random.default_rng(1)
    t = np.arange(int(seconds * FS)) / FS
    beats = np.exp(-(((t % 0.8) - 0.4) ** 2) / (2 * 0.01**2))  # a narrow pulse every 0.8 s
    gains = rng.uniform(0.3, 2.0, size=(records, 1, 12))
    noise = 0.02 * rng.standard_normal((records, t.size, 12))
    return gains * beats[None, :, None] + noise


def test_sharpness_ratio_sees_a_blurred_qrs() -> None:
    """Narrow spikes: a copy is as sharp (1), the same smoothed at 40 Hz far less."""
    t = np.arange(5000) / FS
    spikes = np.exp(-0.5 * ((t[:, None] % 0.8 - 0.4) / 0.008) ** 2) * np.ones(12)
    real = spikes[None] + np.random.default_rng(0).normal(0, 1e-3, (2, 5000, 12))
    assert sharpness_ratio(real, real.copy(), FS) == pytest.approx(1.0)
    blurred = bandpass(real, FS, 0.5, 40.0, order=4, axis=1)
    assert sharpness_ratio(real, blurred, FS) < 0.2


def test_score_of_identical_signals() -> None:
    x = synthetic()
    s = score(x, x.copy(), FS)
    assert s["mean_r"] == pytest.approx(1.0, abs=1e-9)
    assert s["mae_mv"] == pytest.approx(0.0, abs=1e-12)
    assert s["v1_v6_amplitude_slope"] == pytest.approx(1.0, abs=1e-9)
    assert s["v1_v6_amplitude_r2"] == pytest.approx(1.0, abs=1e-9)
    assert s["per_lead"]["V3"]["amplitude"]["bias"] == pytest.approx(0.0, abs=1e-12)


def test_score_of_a_scaled_copy() -> None:
    x = synthetic()
    s = score(x, 0.6 * x, FS)
    assert s["mean_r"] == pytest.approx(1.0, abs=1e-9)
    assert s["v1_v6_amplitude_slope"] == pytest.approx(0.6, abs=1e-6)
    assert s["v1_v6_amplitude_r2"] == pytest.approx(1.0, abs=1e-9)
    band = eval_band(x, FS)[..., 1:]
    assert s["mae_mv"] == pytest.approx(0.4 * np.abs(band).mean(), rel=1e-6)
    assert s["per_lead"]["II"]["amplitude"]["bias"] < 0


def test_comparison_and_tradeoff_figures_are_drawn(
    native: Path, tiny_registry: Path, written: tuple[str, dict], tmp_path: Path
) -> None:
    """The model-by-model record and the r-against-amplitude chart, from the same runs."""
    from training.figures import compare, tradeoff

    one = compare([("tiny", tiny_registry), ("tiny", tiny_registry)], native, tmp_path, FOLD)
    results = tmp_path / "results.json"
    results.write_text(json.dumps(written[1]))
    two = tradeoff([results], tmp_path)
    for path in (one, two):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size < 400_000


def test_render_only_rewrites_the_page_from_the_json(
    written: tuple[str, dict], tmp_path: Path
) -> None:
    """After figures are drawn, the page is rewritten from the JSON without scoring again."""
    results = tmp_path / "results.json"
    results.write_text(json.dumps(written[1]))
    page = tmp_path / "results.md"
    main(["--ptbxl", "unused", "--render-only", "--json", str(results), "--out", str(page)])
    assert page.read_text() == written[0]
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "amplitude-tradeoff.png").write_bytes(b"\x89PNG")
    main(["--ptbxl", "unused", "--render-only", "--json", str(results), "--out", str(page)])
    assert "![amplitude-tradeoff](figures/amplitude-tradeoff.png)" in page.read_text()


def test_add_scores_one_more_model_and_keeps_the_others(
    written: tuple[str, dict], native: Path, tiny_registry: Path, tmp_path: Path
) -> None:
    """``--add`` keeps an earlier run's rows (each model scored once) and its command, adds the
    new model's row, and replaces a model scored again; another fold is refused."""
    earlier = json.loads(json.dumps(written[1]))
    earlier["models"][0]["model"] = "older"
    del earlier["models"][0]["cpu"]  # as rows written before rows named their machine
    earlier["cpu"] = "Another CPU, 64 cores"
    results, page = tmp_path / "results.json", tmp_path / "results.md"
    results.write_text(json.dumps(earlier))
    args = ["--ptbxl", str(native), "--registry", str(tiny_registry), "--model", "tiny"]
    add = [*args, "--add", "--json", str(results), "--out", str(page)]
    main([*add, "--fold", str(FOLD)])
    body = json.loads(results.read_text())
    assert [m["model"] for m in body["models"]] == ["older", "tiny"]
    assert body["models"][0] == {**earlier["models"][0], "cpu": "Another CPU, 64 cores"}
    first, second = body["command"].split("\n")
    assert first == earlier["command"] and "--add" in second
    text = page.read_text()
    assert "| **older**" in text and "| **tiny**" in text
    machines = f"Another CPU, 64 cores (older); {body['models'][1]['cpu']} (tiny)"
    assert f"onnxruntime on {machines}" in text
    main([*add, "--fold", str(FOLD)])
    assert [m["model"] for m in json.loads(results.read_text())["models"]] == ["older", "tiny"]
    with pytest.raises(SystemExit) as exc:
        main([*add, "--fold", "8"])
    assert exc.value.code != 0
