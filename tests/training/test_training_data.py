"""training.data on real PTB-XL files: the index, the reader, the cache and its random crops."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import wfdb
from lowrate import write_low_rate_fold

from ecg12.leads import INDEPENDENT_LEADS, LEAD_NAMES, lead_index
from ecg12.preprocess import preprocess
from training.data import (
    DEFAULT_SPEC,
    LOW_RATE,
    Cache,
    build_cache,
    build_low_rate_cache,
    lead_i_only,
    load_record,
    low_band_lead_i,
    random_crops,
    read_index,
    read_low_rate_index,
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
    low = signals[::-1, :, 0].copy()
    rates = np.array([500.0, 100.0])
    spec = replace(DEFAULT_SPEC, window=256)
    Cache(signals, np.array([5, 6]), np.array([1, 9]), spec, rates, low).save(tmp_path / "x.npz")
    back = Cache.load(tmp_path / "x.npz")
    np.testing.assert_array_equal(back.signals, signals)
    np.testing.assert_array_equal(back.lead_i_low, low)
    np.testing.assert_array_equal(back.source_fs, rates)
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
    crops, lead_i, low_band, present = random_crops(cache, valid, 3, np.random.default_rng(7))
    np.testing.assert_array_equal(present, lead_i_only(6))  # Lead I models are given Lead I
    assert crops.shape == (6, 512, 12) and crops.dtype == np.float32
    np.testing.assert_array_equal(lead_i, crops[:, :, 0])  # full band unless asked
    assert not low_band.any()  # 500 Hz records
    again = random_crops(cache, valid, 3, np.random.default_rng(7))
    np.testing.assert_array_equal(crops, again.leads)
    assert not np.allclose(crops, random_crops(cache, valid, 3, np.random.default_rng(8)).leads)
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


def band_power(x: np.ndarray, fs: float, low_hz: float) -> float:
    """Share of a signal's power above ``low_hz``."""
    power = np.abs(np.fft.rfft(x - x.mean())) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / fs)
    return float(power[freqs > low_hz].sum() / power.sum())


def test_low_rate_records_are_conditioned_as_the_runtime_would(tmp_path: Path) -> None:
    """Three generated 100 Hz records: read from their rows, brought to the model's rate by the
    runtime's conditioning, stored as µV, and marked as 100 Hz records whose Lead I is already
    the low-band one."""
    rng = np.random.default_rng(0)
    t = np.arange(1000) / LOW_RATE
    records = np.stack(
        [
            1000 * np.sin(2 * np.pi * (1 + k) * t)[:, None] * rng.uniform(0.2, 1.5, 8)
            + rng.normal(0, 20, (1000, 8))
            for k in range(3)
        ]
    ).round()
    write_low_rate_fold(tmp_path / "ptbxl100", records, [31, 17, 45], fold=4)
    cache = build_low_rate_cache(tmp_path / "ptbxl100", DEFAULT_SPEC, (4, 9))
    assert cache.signals.shape == (3, 2500, 8) and cache.signals.dtype == np.int16
    assert cache.ecg_id.tolist() == [31, 17, 45] and cache.fold.tolist() == [4, 4, 4]
    assert cache.source_fs.tolist() == [LOW_RATE] * 3
    np.testing.assert_array_equal(cache.lead_i_low, cache.signals[:, :, 0])
    for k in range(3):
        expected = preprocess(records[k] / 1000, LOW_RATE, DEFAULT_SPEC, axis=0)
        np.testing.assert_allclose(cache.signals[k] / 1000, expected, atol=HALF_UV + 1e-6)
    assert cache.take(np.array([2])).ecg_id.tolist() == [45]
    assert len(build_low_rate_cache(tmp_path / "ptbxl100", DEFAULT_SPEC, (4,), limit=2).ecg_id) == 2


def test_low_band_lead_i_keeps_what_100_hz_keeps() -> None:
    """A 500 Hz Lead I taken down to 100 Hz and back: 10 Hz stays, 80 Hz goes."""
    t = np.arange(5000) / 500.0
    slow, fast = np.sin(2 * np.pi * 10 * t), 0.5 * np.sin(2 * np.pi * 80 * t)
    low = low_band_lead_i(slow + fast, 500.0, DEFAULT_SPEC)
    full = preprocess(slow + fast, 500.0, DEFAULT_SPEC)
    assert low.shape == full.shape == (2500,)
    assert band_power(full, 250.0, 50.0) > 0.15
    assert band_power(low, 250.0, 50.0) < 1e-4
    middle = slice(250, -250)  # away from the edges' filter transients
    np.testing.assert_allclose(
        low[middle], preprocess(slow, 500.0, DEFAULT_SPEC)[middle], atol=0.02
    )


def test_crops_show_500_hz_records_as_100_hz_ones_on_request() -> None:
    """``low_band_input=1``: a 500 Hz record's input is its low-band Lead I, its target full
    band; a 100 Hz record's target is flagged for the masked loss."""
    rng = np.random.default_rng(1)
    signals = rng.integers(-900, 900, (2, 700, 8)).astype(np.int16)
    low = rng.integers(-900, 900, (2, 700)).astype(np.int16)
    low[1] = signals[1, :, 0]
    cache = Cache(
        signals, np.array([1, 2]), np.array([1, 1]), DEFAULT_SPEC, np.array([500.0, LOW_RATE]), low
    )
    crops = random_crops(cache, np.array([0, 1]), 4, np.random.default_rng(2), 256, 1.0)
    for leads, lead_i, flag, present in zip(*crops, strict=True):
        assert present.tolist() == [1.0] + [0.0] * 11
        hits = [
            (r, s)
            for r in (0, 1)
            for s in range(700 - 256 + 1)
            if np.allclose(leads[:, 0], signals[r, s : s + 256, 0] / 1000)
        ]
        ((r, s),) = hits
        np.testing.assert_allclose(lead_i, low[r, s : s + 256] / 1000, atol=1e-7)
        assert flag == (1.0 if r == 1 else 0.0)


def test_real_100_hz_records_are_millivolt_ecgs(shared_data: Path) -> None:
    """The first fold-9 records of ptbxl100/: placed by index.csv, sized like ECGs, and with
    nothing above 50 Hz at the model's rate."""
    root = shared_data / "ptbxl100"
    cache = build_low_rate_cache(root, DEFAULT_SPEC, (9,), limit=4)
    rows = [r for r in read_low_rate_index(root) if r.fold == 9][:4]
    assert cache.ecg_id.tolist() == [r.ecg_id for r in rows]
    v2 = cache.signals[:, :, INDEPENDENT_LEADS.index("V2")] / 1000
    assert all(0.3 < np.ptp(x) < 10 for x in v2)
    assert max(band_power(x, 250.0, 55.0) for x in cache.signals[:, :, 0] / 1000) < 1e-3
