"""training.diagnostic: AUROC on known answers, PTB-XL label aggregation, the classifier's shape."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
pytest.importorskip("keras", reason="needs the train extra: pip install -e '.[train]'")

from training.diagnostic import (  # noqa: E402
    SUPERCLASSES,
    FitConfig,
    auroc,
    average_ranks,
    bootstrap_macro,
    build_classifier,
    label_table,
    load_or_fit,
    macro_auroc,
    superclass_labels,
    superclass_map,
)


@pytest.fixture(scope="module")
def mapping(shared_data: Path) -> dict[str, str]:
    return superclass_map(shared_data / "ptbxl" / "scp_statements.csv")


def test_average_ranks_share_ties() -> None:
    np.testing.assert_array_equal(
        average_ranks(np.array([3.0, 1.0, 3.0, 2.0, 3.0])), [4.0, 1.0, 4.0, 2.0, 4.0]
    )


def test_auroc_known_answers() -> None:
    y = np.array([0, 0, 1, 1])
    assert auroc(y, np.array([0.1, 0.2, 0.3, 0.4])) == 1.0
    assert auroc(y, np.array([0.4, 0.3, 0.2, 0.1])) == 0.0
    # pairs (pos, neg): 0.35>0.1, 0.35>0.4 no, 0.8>both -> 3 of 4
    assert auroc(y, np.array([0.1, 0.4, 0.35, 0.8])) == 0.75
    assert np.isnan(auroc(np.ones(3), np.arange(3.0)))


def test_auroc_ties_count_one_half() -> None:
    assert auroc(np.array([0, 1, 0, 1]), np.full(4, 0.5)) == 0.5
    # pos {0.5, 0.9} vs neg {0.5, 0.1}: 0.5 ties 0.5 (1/2), beats 0.1; 0.9 beats both -> 3.5 / 4
    assert auroc(np.array([1, 0, 1, 0]), np.array([0.5, 0.5, 0.9, 0.1])) == 0.875


def test_auroc_matches_pairwise_count() -> None:
    """The rank formula equals the fraction of (positive, negative) pairs ordered right."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = np.round(rng.normal(size=200) + y, 1)  # rounding makes many ties
    pos, neg = s[y == 1][:, None], s[y == 0][None, :]
    pairwise = ((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size)
    assert auroc(y, s) == pytest.approx(pairwise, abs=1e-12)


def test_macro_and_bootstrap() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, (300, 5))
    good = y + rng.normal(0, 0.5, y.shape)
    noise = rng.normal(size=y.shape)
    macro, per_class = macro_auroc(y, good)
    assert macro == pytest.approx(np.mean(per_class)) and macro > 0.8
    boot = bootstrap_macro(y, {"good": good, "noise": noise}, [("good", "noise")], 200, seed=0)
    lo, hi = boot["ci"]["good"]
    assert lo < macro < hi
    assert boot["ci"]["noise"][0] < 0.5 < boot["ci"]["noise"][1]
    diff = boot["differences"]["good - noise"]
    assert diff["difference"] == pytest.approx(macro - macro_auroc(y, noise)[0])
    assert diff["ci"][0] > 0


def test_superclass_map_covers_the_diagnostic_statements(mapping: dict[str, str]) -> None:
    assert set(mapping.values()) == set(SUPERCLASSES)
    assert mapping["NORM"] == "NORM" and mapping["IMI"] == "MI" and mapping["LVH"] == "HYP"
    assert mapping["CLBBB"] == "CD" and mapping["NDT"] == "STTC"
    assert "SR" not in mapping and "LVOLT" not in mapping  # rhythm and form statements


def test_superclass_labels_aggregate_all_codes(mapping: dict[str, str]) -> None:
    codes = {"IMI": 15.0, "LVH": 0.0, "SR": 0.0, "NDT": 100.0}  # likelihood 0 still counts
    np.testing.assert_array_equal(superclass_labels(codes, mapping), [0, 1, 1, 0, 1])
    assert not superclass_labels({"SR": 0.0, "LVOLT": 0.0}, mapping).any()


def test_label_table_on_fixture(shared_data: Path, tmp_path: Path) -> None:
    """The fixture's rows with the real statements: ecg_id 8 is IMI (MI), the rest NORM."""
    fixture = shared_data / "fixtures" / "ptbxl-native"
    root = tmp_path / "ptbxl"
    root.mkdir()
    (root / "ptbxl_database.csv").write_bytes((fixture / "ptbxl_database.csv").read_bytes())
    (root / "scp_statements.csv").write_bytes(
        (shared_data / "ptbxl" / "scp_statements.csv").read_bytes()
    )
    (root / "records500").symlink_to(fixture / "records500")
    labels = label_table(root)
    assert sorted(labels) == [1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13]
    mi, norm = SUPERCLASSES.index("MI"), SUPERCLASSES.index("NORM")
    for ecg_id, y in labels.items():
        expect = np.zeros(5)
        expect[mi if ecg_id == 8 else norm] = 1
        np.testing.assert_array_equal(y, expect, err_msg=f"ecg_id {ecg_id}")


@pytest.mark.parametrize("channels", [12, 1])
def test_classifier_shape_and_one_fit_step(channels: int) -> None:
    cfg = FitConfig(filters=(4, 8), kernel=5)
    model = build_classifier(channels, cfg, samples=256)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 256, channels)).astype(np.float32)
    y = rng.integers(0, 2, (4, len(SUPERCLASSES))).astype(np.float32)
    out = model.predict(x, verbose=0)
    assert out.shape == (4, len(SUPERCLASSES)) and ((out > 0) & (out < 1)).all()
    before = [w.copy() for w in model.get_weights()]
    logs = model.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"])
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def test_cached_classifier_is_reused_only_for_the_same_config(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 128, 1)).astype(np.float32)
    y = np.tile(np.eye(2, len(SUPERCLASSES), dtype=np.float32), (4, 1))  # both classes present
    data = (x, y, x, y)
    cfg = FitConfig(filters=(4,), kernel=3, epochs=1, batch_size=4)
    fitted, meta = load_or_fit("tiny", data, cfg, tmp_path, reuse=False)
    assert meta["epochs_trained"] == 1 and (tmp_path / "tiny.npz").is_file()
    again, meta_again = load_or_fit("tiny", data, cfg, tmp_path, reuse=True)
    assert meta_again == json.loads((tmp_path / "tiny.json").read_text())
    np.testing.assert_array_equal(again.predict(x, verbose=0), fitted.predict(x, verbose=0))
    _, other = load_or_fit(
        "tiny",
        data,
        FitConfig(filters=(4,), kernel=5, epochs=1, batch_size=4),
        tmp_path,
        reuse=True,
    )
    assert other["config"]["kernel"] == 5
