"""training.diagnostic: AUROC on known answers, PTB-XL label aggregation (both folders), the
classifier's shape and inputs, the split of fold 9 by recorded rate, and a small run end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("keras", reason="needs the train extra: pip install -e '.[train]'")

from training.data import (  # noqa: E402
    DEFAULT_SPEC,
    DUPLICATES_1_0_1,
    Cache,
    build_cache,
    build_low_rate_cache,
    read_low_rate_index,
)
from training.diagnostic import (  # noqa: E402
    LOWPASS_HZ,
    SUPERCLASSES,
    FitConfig,
    build_classifier,
    classifier_view,
    fold_inputs,
    label_table,
    load_or_fit,
    low_rate_label_table,
    rate_parts,
    render_markdown,
    row_pairs,
    run,
    study_labels,
    study_records,
    superclass_labels,
    superclass_map,
)
from training.harness import fold_records  # noqa: E402


@pytest.fixture(scope="module")
def mapping(shared_data: Path) -> dict[str, str]:
    return superclass_map(shared_data / "ptbxl" / "scp_statements.csv")


@pytest.fixture(scope="module")
def ptbxl100(shared_data: Path) -> Path:
    """The 100 Hz records of PTB-XL folds 1-9 (``ptbxl100/``); absent from older data folders."""
    path = shared_data / "ptbxl100"
    if not (path / "index.csv").is_file():
        pytest.skip(f"needs the 100 Hz records: {path} is absent")
    return path


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


def test_row_pairs_cover_every_model() -> None:
    pairs = row_pairs(["ekgan", "ekgan-2.0.0", "linear"])
    assert pairs[0] == ("real", "lead_i")
    for m in ("ekgan", "ekgan-2.0.0", "linear"):
        assert (m, "lead_i") in pairs and (m, "real") in pairs
    between = [p for p in pairs if "real" not in p and "lead_i" not in p]
    assert between == [("ekgan", "ekgan-2.0.0"), ("ekgan", "linear"), ("ekgan-2.0.0", "linear")]


def test_low_rate_labels_from_index(ptbxl100: Path, shared_data: Path, tmp_path: Path) -> None:
    """Every ptbxl100 record gets the five index.csv columns, in SUPERCLASSES order, and no
    record is labelled by both folders."""
    labels = low_rate_label_table(ptbxl100)
    assert len(labels) == 16949
    # index.csv: 508 -> STTC, CD; 510 -> MI, CD (columns NORM, MI, STTC, CD, HYP)
    np.testing.assert_array_equal(labels[508], [0, 0, 1, 1, 0])
    np.testing.assert_array_equal(labels[510], [0, 1, 0, 1, 0])
    y = np.stack(list(labels.values()))
    assert 0 < (~y.any(axis=1)).sum() < 0.05 * len(y)  # a few records have no superclass
    assert (y.sum(axis=0) > 500).all()  # every class is common enough to score
    both = study_labels(shared_data / "ptbxl", ptbxl100)
    assert len(both) == len(labels) + len(label_table(shared_data / "ptbxl"))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "index.csv").write_text(
        "ecg_id,strat_fold,row,age,sex,NORM,MI,STTC,CD,HYP\n1,1,0,50,0,2,0,0,0,0\n"
    )
    with pytest.raises(ValueError, match="0 or 1"):
        low_rate_label_table(bad)


def test_fold_9_inputs_split_by_recorded_rate(shared_data: Path, ptbxl100: Path) -> None:
    """Two fold-9 records from each folder through the linear model: each keeps its recorded
    rate, its real leads are conditioned as the cache conditions them, and the rows with a
    reconstruction carry the real Lead I exactly."""
    ptbxl = shared_data / "ptbxl"
    records = fold_records(ptbxl, 9, limit=2, ptbxl100=ptbxl100)
    test = fold_inputs(records, [("linear", None)], DEFAULT_SPEC, 2500)
    low_ids = [r.ecg_id for r in read_low_rate_index(ptbxl100) if r.fold == 9][:2]
    high = build_cache(ptbxl, DEFAULT_SPEC, (9,), limit=2)
    low = build_low_rate_cache(ptbxl100, DEFAULT_SPEC, (9,), limit=2)
    assert test.ecg_ids.tolist() == [*high.ecg_id.tolist(), *low_ids]
    assert test.source_fs.tolist() == [500.0, 500.0, 100.0, 100.0]
    parts = rate_parts(test.source_fs)
    assert list(parts) == ["500 Hz", "100 Hz"]
    assert test.ecg_ids[parts["100 Hz"]].tolist() == low_ids
    expected = np.concatenate([high.signals, low.signals]).astype(np.int32)
    assert np.abs(test.real - expected).max() <= 2  # µV: the cache's own path
    hybrid = test.hybrid["linear"]
    np.testing.assert_array_equal(hybrid[..., 0], test.real[..., 0])
    assert not np.array_equal(hybrid[..., 1:], test.real[..., 1:])
    assert test.facts["linear"]["refused"] == 0


def test_classifier_view_low_pass() -> None:
    """Without a low-pass the inputs are the cache's leads as they were; with it, a 70 Hz
    component (beyond a 100 Hz record's band) is gone and a 10 Hz one kept, in every lead."""
    t = np.arange(2500) / DEFAULT_SPEC.fs
    wave = 1000 * np.sin(2 * np.pi * 10 * t) + 300 * np.sin(2 * np.pi * 70 * t)
    eight = np.round(np.tile(wave[None, :, None], (2, 1, 8)) * np.arange(1, 9)).astype(np.int16)
    plain = classifier_view(eight, DEFAULT_SPEC.fs, None)
    cache = Cache(eight, np.arange(2), np.ones(2), DEFAULT_SPEC, np.full(2, 500.0), eight[..., 0])
    np.testing.assert_array_equal(plain, cache.leads_mv(np.arange(2)))
    low = classifier_view(eight, DEFAULT_SPEC.fs, LOWPASS_HZ)
    mid = slice(500, 2000)  # away from the edges

    def amplitude(x: np.ndarray, hz: float) -> float:
        return 2 * np.abs(np.exp(-2j * np.pi * hz * t[mid]) @ x[mid]) / len(t[mid])

    for lead in range(12):
        x, y = plain[0, :, lead], low[0, :, lead]
        assert amplitude(y, 70) < 0.05 * amplitude(x, 70)
        assert amplitude(y, 10) == pytest.approx(amplitude(x, 10), rel=0.01)


def test_study_records_limit_each_fold_and_rate() -> None:
    fold = np.array([1, 1, 1, 2, 2, 1, 1, 2])
    fs = np.array([500.0, 500, 100, 100, 500, 100, 100, 100])
    cache = Cache(np.zeros((8, 4, 8), np.int16), np.arange(8), fold, DEFAULT_SPEC, fs, None)
    assert study_records(cache, (1, 2), (500.0, 100.0), None).tolist() == list(range(8))
    assert study_records(cache, (1, 2), (500.0,), None).tolist() == [0, 1, 4]
    assert study_records(cache, (1, 2), (500.0, 100.0), 1).tolist() == [0, 2, 3, 4]


def test_cached_classifier_is_not_reused_for_other_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 128, 1)).astype(np.float32)
    y = np.tile(np.eye(2, len(SUPERCLASSES), dtype=np.float32), (4, 1))
    cfg = FitConfig(filters=(4,), kernel=3, epochs=1, batch_size=4)
    _, meta = load_or_fit("tiny", (x, y, x, y), cfg, tmp_path, reuse=False)
    _, same = load_or_fit("tiny", (x, y, x, y), cfg, tmp_path, reuse=True)
    assert "tiny: reusing" in capsys.readouterr().out and same["data"] == meta["data"]
    _, other = load_or_fit("tiny", (x[::-1], y, x, y), cfg, tmp_path, reuse=True)
    assert "training again" in capsys.readouterr().out and other["data"] != meta["data"]


@pytest.mark.slow
def test_small_run_over_both_folders(shared_data: Path, ptbxl100: Path, tmp_path: Path) -> None:
    """The whole study on the first 25 records of each fold in each folder, with a tiny
    classifier: fold 9 is scored whole and by rate, on the records each part should hold."""
    ptbxl, limit = shared_data / "ptbxl", 25
    high = Cache.concat([build_cache(ptbxl, DEFAULT_SPEC, (f,), limit) for f in range(1, 10)])
    high = high.take(np.flatnonzero(~np.isin(high.ecg_id, list(DUPLICATES_1_0_1))))
    low = build_low_rate_cache(ptbxl100, DEFAULT_SPEC, tuple(range(1, 10)), limit)
    cache = Cache.concat([high, low])
    cache.save(tmp_path / "cache.npz")
    cfg = FitConfig(filters=(4, 8), epochs=1, lowpass_hz=LOWPASS_HZ)
    res = run(
        ptbxl,
        tmp_path / "cache.npz",
        cfg,
        tmp_path / "weights",
        False,
        50,
        ptbxl100=ptbxl100,
        sources=[("linear", None)],
        limit=limit,
    )
    labels = study_labels(ptbxl, ptbxl100)
    low9 = [r.ecg_id for r in read_low_rate_index(ptbxl100) if r.fold == 9][:limit]
    high9 = high.ecg_id[high.fold == 9]
    ids = np.asarray(res["predictions"]["ecg_ids"])
    fs = np.asarray(res["predictions"]["source_fs"])
    assert ids[fs == 100].tolist() == [i for i in low9 if labels[i].any()]
    assert ids[fs == 500].tolist() == [i for i in high9 if labels[i].any()]
    assert list(res["rows"]) == ["real", "linear", "lead_i"]
    counts = res["class_counts"]
    assert list(res["parts"]) == ["500 Hz", "100 Hz"]
    for part, n in (("500 Hz", (fs == 500).sum()), ("100 Hz", (fs == 100).sum())):
        assert res["parts"][part]["records"] == counts[f"test (fold 9), {part} part"]["records"]
        assert res["parts"][part]["records"] == n
    assert counts["fit (folds 1-7), 100 Hz part"]["records"] <= 7 * limit
    assert counts["fit (folds 1-7)"]["records"] > 7 * limit  # both folders feed training
    assert res["classifiers"]["lead12"]["config"]["lowpass_hz"] == LOWPASS_HZ
    assert (tmp_path / "weights" / "lead12-all.npz").is_file()
    res |= {"command": "python -m training.diagnostic ...", "ptbxl100": str(ptbxl100)}
    page = render_markdown(res, "PTB-XL")
    assert f"| 500 Hz part (n = {(fs == 500).sum()}) | 100 Hz part" in page
    assert "| Lead I + linear reconstruction − Lead I alone |" in page
    assert f"low-passed at {LOWPASS_HZ:g} Hz" in page
