"""training.input_sets on the fixture records with the tiny real any-lead model: one row per
input set, the floor and the Lead I default beside it, the issue's targets, and the page."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("keras", reason="needs the train extra: pip install -e '.[train]'")

from anylead import write_anylead_bundle  # noqa: E402

import ecg12  # noqa: E402
from training import anylead  # noqa: E402
from training.data import DEFAULT_SPEC, build_cache  # noqa: E402
from training.input_sets import render, run  # noqa: E402


@pytest.fixture
def results(native: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("ECG12_REGISTRY", str(write_anylead_bundle(tmp_path / "bundle")))
    monkeypatch.setenv("ECG12_CACHE_DIR", str(tmp_path / "cache"))
    build_cache(native, DEFAULT_SPEC, tuple(range(1, 10))).save(tmp_path / "cache.npz")
    return run(native, None, "anylead", tmp_path / "cache.npz", None)


def test_every_set_is_scored_beside_its_floor(results: dict) -> None:
    names = [anylead.set_name(anylead.mask(s)) for s in anylead.EVAL_SETS]
    assert list(results["sets"]) == names
    for key, s in results["sets"].items():
        given = key.split("+")
        assert s["estimated"] == [n for n in anylead.LEAD_NAMES if n not in given]
        assert s["model"]["records"] == s["floor"]["records"] == 2  # fold 9: ecg_id 8 and 10
        assert not s["refused"]
        assert set(s["model"]["per_lead_r"]) == set(s["estimated"])
    limb = results["sets"]["I+II+III+aVR+aVL+aVF"]
    assert limb["estimated"] == ["V1", "V2", "V3", "V4", "V5", "V6"]
    assert results["default"]["model"] == "tiny"
    assert len(results["targets"]) == 5 and all(
        isinstance(t["met"], bool) for t in results["targets"]
    )


def test_page_has_one_row_per_set(results: dict) -> None:
    page = render(results, "anylead", "python -m training.input_sets ...")
    for key in results["sets"]:
        assert f"| {key.replace('+', ', ')} | 2 |" in page
    assert "## Targets (issue 14)" in page and "python -m training.input_sets" in page


# Five records cannot fit seven coefficients per lead: the residual SD is undefined there.
@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_each_set_is_calibrated_on_the_same_reconstructions(
    native: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a trust command every set gets a block that the runtime's registry accepts."""
    from training.calibrate import write_trust_by_inputs
    from training.harness import fold_records

    registry = write_anylead_bundle(tmp_path / "bundle")
    monkeypatch.setenv("ECG12_REGISTRY", str(registry))
    build_cache(native, DEFAULT_SPEC, tuple(range(1, 10))).save(tmp_path / "cache.npz")
    # Five records (folds 8 and 9) so that the 5-fold cross-validation has one per fold.
    monkeypatch.setattr(
        "training.input_sets.fold_records",
        lambda *a, **k: [r for f in (8, 9) for r in fold_records(native, f)][:5],
    )
    results = run(native, None, "anylead", tmp_path / "cache.npz", None, "python -m ...")
    assert set(results["trust"]) == set(results["sets"])
    write_trust_by_inputs("anylead", results["trust"], registry)
    card = ecg12.load_registry(registry).card("anylead")
    assert set(card.trust_by_inputs) == set(results["sets"])
    assert "## Expected error by input set" in render(results, "anylead", "python -m ...")


def test_an_any_lead_card_registered_as_default_becomes_any_lead_default(tmp_path: Path) -> None:
    import json

    from training.cards import register

    registry = write_anylead_bundle(tmp_path / "bundle", any_lead_default=False)
    card = json.loads(registry.read_text())["models"]["anylead"]
    register("anylead", card, registry, default=True)
    loaded = ecg12.load_registry(registry)
    assert (loaded.default, loaded.any_lead_default) == ("tiny", "anylead")
