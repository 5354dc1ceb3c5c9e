"""training.data on real PTB-XL files: the index, the reader, the cache and its random crops."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import wfdb

from ecg12.leads import INDEPENDENT_LEADS, LEAD_NAMES, lead_index
from ecg12.preprocess import preprocess
from training.data import (
    DEFAULT_SPEC,
    Cache,
    build_cache,
    load_record,
    random_crops,
    read_index,
)

ALL_FOLDS = tuple(range(1, 11))
#: ecg_id -> strat_fold of the fixture's rows (ecg_id 9 is fold 10 and left out of the fixture).
FIXTURE_FOLDS = {1: 3, 2: 2, 3: 5, 4: 3, 5: 4, 6: 4, 7: 7, 8: 9, 10: 9, 11: 5, 12: 8, 13: 2}
HALF_UV = 0.5e-3  # int16 µV storage rounds to the nearest µV


@pytest.fixture(scope="module")
def root(shared_data: Path) -> Path:
    return shared_data / "fixtures" / "ptbxl-native"


@pytest.fixture(scope="module")
def cache(root: Path) -> Cache:
    return build_cache(root, DEFAULT_SPEC, ALL_FOLDS)


def test_read_index_finds_records_with_folds_and_codes(root: Path) -> None:
    records = read_index(root)
    assert {r.ecg_id: r.fold for r in records} == FIXTURE_FOLDS
    first = next(r for r in records if r.ecg_id == 1)
    assert first.scp_codes == {"NORM": 100.0, "LVOLT": 0.0, "SR": 0.0}
    assert first.patient_id == 15709
    assert first.path == root / "records500" / "00000" / "00001_hr"
    low = read_index(root, high_rate=False)
    assert [r.path.name for r in low][:2] == ["00001_lr", "00002_lr"]


def test_read_index_skips_rows_whose_files_are_missing(root: Path, tmp_path: Path) -> None:
    """A PTB-XL subset keeps every CSV row; only records whose files are present count."""
    (tmp_path / "ptbxl_database.csv").write_text((root / "ptbxl_database.csv").read_text())
    part = tmp_path / "records500" / "00000"
    part.mkdir(parents=True)
    for name in ("00003_hr.hea", "00003_hr.dat"):
        (part / name).write_bytes((root / "records500" / "00000" / name).read_bytes())
    assert [r.ecg_id for r in read_index(tmp_path)] == [3]


def test_load_record_matches_wfdb_in_standard_order(root: Path) -> None:
    path = root / "records500" / "00000" / "00008_hr"
    leads, fs = load_record(path)
    rec = wfdb.rdrecord(str(path))
    assert fs == 500.0 and leads.shape == (5000, 12)
    assert all(u.lower() == "mv" for u in rec.units)
    for col, name in enumerate(rec.sig_name):
        np.testing.assert_allclose(leads[:, lead_index(name)], rec.p_signal[:, col], atol=1e-9)
    # A QRS complex is millivolts high, not microvolts or volts.
    assert 0.3 < np.ptp(leads[:, LEAD_NAMES.index("V2")]) < 10


def test_build_cache_is_int16_microvolts_of_the_runtime_conditioning(
    root: Path, cache: Cache
) -> None:
    assert cache.signals.dtype == np.int16
    assert cache.signals.shape == (12, 2500, len(INDEPENDENT_LEADS))  # 10 s at 250 Hz
    assert cache.spec == DEFAULT_SPEC and cache.spec.fs == 250.0
    assert dict(zip(cache.ecg_id.tolist(), cache.fold.tolist(), strict=True)) == FIXTURE_FOLDS
    for i in (0, 7):
        leads, fs = load_record(read_index(root)[i].path)
        cols = [LEAD_NAMES.index(n) for n in INDEPENDENT_LEADS]
        expected = preprocess(leads[:, cols], fs, DEFAULT_SPEC, axis=0)
        np.testing.assert_allclose(cache.signals[i] / 1000, expected, rtol=0, atol=HALF_UV + 1e-6)


def test_build_cache_keeps_only_the_requested_folds(root: Path) -> None:
    subset = build_cache(root, DEFAULT_SPEC, (9,), limit=1)
    assert subset.ecg_id.tolist() == [8] and subset.fold.tolist() == [9]


def test_cache_save_load_round_trip_is_exact(cache: Cache, tmp_path: Path) -> None:
    path = tmp_path / "sub" / "cache.npz"
    cache.save(path)
    back = Cache.load(path)
    np.testing.assert_array_equal(back.signals, cache.signals)
    np.testing.assert_array_equal(back.ecg_id, cache.ecg_id)
    np.testing.assert_array_equal(back.fold, cache.fold)
    assert back.spec == cache.spec and back.signals.dtype == np.int16
    assert [p.name for p in path.parent.iterdir()] == ["cache.npz"]  # no temporary file left


def test_cache_round_trip_survives_int16_extremes(tmp_path: Path) -> None:
    """Saved as first differences, which overflow int16 here; the wrap-around must cancel."""
    rng = np.random.default_rng(0)
    signals = rng.choice(np.array([-32768, 32767, 0], dtype=np.int16), size=(2, 600, 8))
    cache = Cache(signals, np.array([5, 6]), np.array([1, 9]), replace(DEFAULT_SPEC, window=256))
    cache.save(tmp_path / "extreme.npz")
    back = Cache.load(tmp_path / "extreme.npz")
    np.testing.assert_array_equal(back.signals, signals)
    assert back.spec.window == 256


def test_leads_mv_derives_the_limb_leads(root: Path, cache: Cache) -> None:
    leads = cache.leads_mv(np.array([2, 8]))
    assert leads.shape == (2, 2500, 12) and leads.dtype == np.float32
    cols = [LEAD_NAMES.index(n) for n in INDEPENDENT_LEADS]
    np.testing.assert_allclose(leads[..., cols], cache.signals[[2, 8]] / 1000, atol=1e-6)
    lead = {name: leads[..., i] for i, name in enumerate(LEAD_NAMES)}
    np.testing.assert_allclose(lead["III"], lead["II"] - lead["I"], atol=1e-6)
    np.testing.assert_allclose(lead["aVR"], -(lead["I"] + lead["II"]) / 2, atol=1e-6)
    np.testing.assert_allclose(lead["aVL"], lead["I"] - lead["II"] / 2, atol=1e-6)
    np.testing.assert_allclose(lead["aVF"], lead["II"] - lead["I"] / 2, atol=1e-6)
    # The derived limb leads agree with the ones the electrocardiograph recorded (PTB-XL stores
    # each lead rounded to 1 µV, so the identities hold there to a few µV).
    recorded, fs = load_record(read_index(root)[2].path)
    recorded = preprocess(recorded, fs, DEFAULT_SPEC, axis=0)
    np.testing.assert_allclose(leads[0], recorded, atol=3e-3)


def test_random_crops_shapes_sources_and_determinism(cache: Cache) -> None:
    valid = cache.select((9,))
    assert cache.ecg_id[valid].tolist() == [8, 10]
    crops = random_crops(cache, valid, 3, np.random.default_rng(7))
    assert crops.shape == (6, 512, 12) and crops.dtype == np.float32
    np.testing.assert_array_equal(crops, random_crops(cache, valid, 3, np.random.default_rng(7)))
    assert not np.allclose(crops, random_crops(cache, valid, 3, np.random.default_rng(8)))
    # Every crop is a contiguous window of one of the selected records, and both records appear.
    full = cache.leads_mv(np.arange(len(cache.ecg_id)))
    windows = np.lib.stride_tricks.sliding_window_view(full[..., 0], 512, axis=1)
    sources = set()
    for crop in crops:
        hits = np.argwhere(np.abs(windows - crop[:, 0]).max(axis=-1) < 1e-6)
        assert len(hits) >= 1
        sources.update(hits[:, 0].tolist())
        r, s = hits[0]
        np.testing.assert_allclose(crop, full[r, s : s + 512], atol=1e-6)
    assert sources == set(valid.tolist())
