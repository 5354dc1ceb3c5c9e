"""Model registry: card validation, and verified downloads and caching against a local server."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from httpserver import (
    DROP,
    MODEL_FILE,
    SPEC,
    LocalServer,
    TinyRepo,
    card_entry,
    write_registry,
    write_tiny_model,
)

from ecg12.cli import main
from ecg12.errors import ModelError
from ecg12.registry import (
    MAX_REGISTRY_BYTES,
    Registry,
    cache_dir,
    load_registry,
    model_path,
    model_status,
)

pytest_plugins = ["httpserver"]


def test_first_use_downloads_then_the_cache_serves(tiny_repo: TinyRepo) -> None:
    registry = load_registry()
    card = registry.card("tiny")
    assert model_status(card, registry) == "remote"

    path = model_path(card, registry)
    assert tiny_repo.server.hits(MODEL_FILE) == 1
    assert path.is_relative_to(tiny_repo.cache) and path.read_bytes() == tiny_repo.model
    assert model_status(card, registry) == "cached"
    assert tiny_repo.cached_files() == [path]  # no temporary file left behind

    assert model_path(card, registry) == path
    assert model_path(card, registry, download=False) == path
    assert tiny_repo.server.hits(MODEL_FILE) == 1


def test_fetched_model_runs_in_onnxruntime(tiny_repo: TinyRepo) -> None:
    import onnxruntime as ort

    registry = load_registry()
    path = model_path(registry.card(None), registry)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    lead_i = np.random.default_rng(0).standard_normal((2, SPEC["window"])).astype(np.float32)
    (leads,) = session.run(["leads"], {"lead_i": lead_i})
    assert leads.shape == (2, 12, SPEC["window"])
    expected = np.arange(1, 13, dtype=np.float32)[None, :, None] * lead_i[:, None, :]
    np.testing.assert_allclose(leads, expected, rtol=1e-6)


def test_corrupt_cached_file_is_reported_and_fetched_again(
    tiny_repo: TinyRepo, caplog: pytest.LogCaptureFixture
) -> None:
    registry = load_registry()
    card = registry.card("tiny")
    path = model_path(card, registry)
    path.write_bytes(tiny_repo.model[:-10] + b"corrupted!")

    with caplog.at_level(logging.WARNING, logger="ecg12.registry"):
        assert model_path(card, registry) == path
    assert "fails its sha256 check" in caplog.text
    assert tiny_repo.server.hits(MODEL_FILE) == 2
    assert hashlib.sha256(path.read_bytes()).hexdigest() == card.sha256


def test_corrupt_cached_file_is_not_used_offline(tiny_repo: TinyRepo) -> None:
    registry = load_registry()
    card = registry.card("tiny")
    model_path(card, registry).write_bytes(b"truncated")
    with pytest.raises(ModelError, match="ecg12 models fetch tiny"):
        model_path(card, registry, download=False)
    assert model_status(card, registry) == "remote"


def test_offline_without_cache_says_how_to_fetch(tiny_repo: TinyRepo) -> None:
    registry = load_registry()
    with pytest.raises(ModelError, match=r"not downloaded yet; run `ecg12 models fetch tiny`"):
        model_path(registry.card("tiny"), registry, download=False)
    assert tiny_repo.server.hits(MODEL_FILE) == 0


def test_hash_mismatch_on_server_raises_and_saves_nothing(tiny_repo: TinyRepo) -> None:
    (tiny_repo.server.root / MODEL_FILE).write_bytes(tiny_repo.model + b"tampered")
    registry = load_registry()
    with pytest.raises(ModelError, match=r"could not fetch model 'tiny'.*does not match"):
        model_path(registry.card("tiny"), registry)
    assert tiny_repo.server.hits(MODEL_FILE) == 3  # first try and two retries
    assert tiny_repo.cached_files() == []
    assert model_status(registry.card("tiny"), registry) == "remote"


def test_missing_file_on_server_raises_model_error(tiny_repo: TinyRepo) -> None:
    (tiny_repo.server.root / MODEL_FILE).unlink()
    registry = load_registry()
    with pytest.raises(ModelError, match=r"could not fetch model 'tiny' from http://127\..*404"):
        model_path(registry.card("tiny"), registry)
    assert tiny_repo.cached_files() == []


@pytest.fixture
def bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder like ecg12/models: registry.json with a bundled model next to it."""
    folder = tmp_path / "bundle"
    folder.mkdir()
    model = write_tiny_model(folder / MODEL_FILE)
    write_registry(folder / "registry.json", {"tiny": card_entry(model, bundled=True)})
    monkeypatch.setenv("ECG12_CACHE_DIR", str(tmp_path / "cache"))
    return folder


def test_bundled_model_is_verified_in_place(bundle: Path, tmp_path: Path) -> None:
    registry = load_registry(bundle / "registry.json")
    card = registry.card("tiny")
    assert registry.bundle_dir == bundle
    assert model_status(card, registry) == "bundled"
    assert model_path(card, registry, download=False) == bundle / MODEL_FILE
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(
    ("damage", "problem"), [("rewrite", "fails its sha256"), ("delete", "is missing")]
)
def test_damaged_bundled_model_means_corrupt_install(
    bundle: Path, damage: str, problem: str
) -> None:
    registry = load_registry(bundle / "registry.json")
    if damage == "rewrite":
        (bundle / MODEL_FILE).write_bytes(b"not the model")
    else:
        (bundle / MODEL_FILE).unlink()
    with pytest.raises(ModelError, match=f"bundled model 'tiny'.*{problem}.*install is corrupt"):
        model_path(registry.card("tiny"), registry)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sha256": "abc123"}, "field 'sha256' must be 64 hex digits"),
        ({"size_bytes": "1234"}, "field 'size_bytes' must be an integer"),
        ({"size_bytes": True}, "field 'size_bytes' must be an integer"),
        ({"size_bytes": 0}, "field 'size_bytes' must be positive"),
        ({"bundled": "yes"}, "field 'bundled' must be true or false"),
        ({"file": "../../etc/evil.onnx"}, "field 'file' must be a plain file name"),
        ({"version": "../1"}, "field 'version' may use only"),
        ({"metrics": DROP}, "missing field 'metrics'"),
        ({"sha265": "0" * 64}, "unknown field 'sha265'"),
        ({"preprocessing": {**SPEC, "window": 0}}, "field 'preprocessing' is invalid"),
        ({"preprocessing": {**SPEC, "rate": 250}}, "field 'preprocessing' is invalid"),
        ({"preprocessing": {**SPEC, "lowpass_hz": 200.0}}, "field 'preprocessing' is invalid"),
    ],
)
def test_bad_card_entry_names_model_and_field(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    path = write_registry(
        tmp_path / "registry.json", {"tiny": card_entry(b"model bytes", **changes)}
    )
    with pytest.raises(ModelError) as info:
        load_registry(path)
    assert str(info.value).startswith(f"{path}: model 'tiny': {message}")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "must be a JSON object"),
        ('{"default": "tiny", "models": {}}', "missing field 'base_url'"),
        (
            '{"base_url": "http://x/", "default": "tiny", "models": []}',
            "field 'models' must be an object",
        ),
        (
            '{"base_url": "http://x/", "default": "tiny", "models": {"../x": {}}}',
            "model '../x': model names may use only",
        ),
    ],
)
def test_bad_registry_file_is_reported_with_its_path(
    tmp_path: Path, body: str, message: str
) -> None:
    path = tmp_path / "registry.json"
    path.write_text(body)
    with pytest.raises(ModelError, match=message) as info:
        load_registry(path)
    assert str(path) in str(info.value)


def test_registry_read_is_bounded_and_must_be_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "registry.json"
    with path.open("wb") as f:
        f.truncate(MAX_REGISTRY_BYTES + 1)  # sparse: no disk used
    with pytest.raises(ModelError) as info:
        load_registry(path)
    assert str(info.value) == (
        f"{path}: larger than 16 MiB, so not a model registry (check ECG12_REGISTRY)"
    )
    monkeypatch.setenv("ECG12_REGISTRY", str(path))
    result = CliRunner().invoke(main, ["models"])
    assert result.exit_code == 1 and result.output.startswith(f"error: {path}: larger than")
    path.write_bytes(b'{"base_url": "\xff"}')
    with pytest.raises(ModelError, match="the model registry is not UTF-8 text"):
        load_registry(path)


def test_default_must_name_a_registered_model(tmp_path: Path) -> None:
    path = write_registry(tmp_path / "registry.json", {"tiny": card_entry(b"x")}, default="big")
    with pytest.raises(ModelError, match="field 'default' names unknown model 'big'"):
        load_registry(path)


def test_missing_registry_file_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read the model registry"):
        load_registry(tmp_path / "nope.json")


def test_unknown_model_lists_the_known_ones(tmp_path: Path) -> None:
    models = {"tiny": card_entry(b"a"), "small": card_entry(b"b", file="small-v1.onnx")}
    registry = load_registry(write_registry(tmp_path / "registry.json", models))
    assert registry.card(None).name == "tiny"
    assert registry.card("small").file == "small-v1.onnx"
    with pytest.raises(ModelError, match="unknown model 'huge'; known models: small, tiny"):
        registry.card("huge")


def test_card_fields_come_from_the_registry(tmp_path: Path) -> None:
    registry = load_registry(
        write_registry(tmp_path / "registry.json", {"tiny": card_entry(b"abc")})
    )
    card = registry.card("tiny")
    assert card.sha256 == hashlib.sha256(b"abc").hexdigest() and card.size_bytes == 3
    assert card.preprocessing.fs == 250 and card.preprocessing.window == 512
    assert card.metrics["fold9"]["mean_r"] == pytest.approx(0.812)
    assert registry.url(card) == "http://127.0.0.1:9/nowhere/" + MODEL_FILE


def test_packaged_registry_loads_and_env_overrides_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ECG12_REGISTRY", raising=False)
    monkeypatch.delenv("ECG12_MODEL_URL", raising=False)
    registry: Registry = load_registry()
    assert (registry.bundle_dir / "registry.json").is_file()
    assert registry.base_url.startswith("https://")
    assert registry.default
    monkeypatch.setenv("ECG12_MODEL_URL", "http://mirror.invalid/models/")
    assert load_registry().base_url == "http://mirror.invalid/models/"


def test_cache_dir_follows_env_else_os_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pooch

    monkeypatch.setenv("ECG12_CACHE_DIR", str(tmp_path / "models"))
    assert cache_dir() == tmp_path / "models"
    monkeypatch.delenv("ECG12_CACHE_DIR")
    assert cache_dir() == Path(pooch.os_cache("ecg12")).expanduser()


@pytest.mark.slow
def test_every_release_model_downloads_verifies_and_runs(
    http_server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The packaged registry's downloadable models, served as a release serves them: the files
    in ``ecg12/models/remote/`` (kept out of the wheel) on a local server at the base URL."""
    import shutil

    import ecg12

    monkeypatch.delenv("ECG12_REGISTRY", raising=False)
    monkeypatch.setenv("ECG12_MODEL_URL", http_server.url)
    monkeypatch.setenv("ECG12_CACHE_DIR", str(tmp_path / "cache"))
    registry = load_registry()
    remote = [card for card in registry.cards.values() if not card.bundled]
    assert {"pix2pix", "cyclegan", "cardiogan"} <= {card.name for card in remote}
    for card in remote:
        shutil.copy(registry.bundle_dir / "remote" / card.file, http_server.root)
    t = np.arange(5000) / 500.0
    lead_i = 0.8 * np.exp(-(((t % 0.8) - 0.3) ** 2) / 2e-4) - 0.1  # a 75 bpm spike train, mV
    for card in remote:
        assert model_status(card, registry) == "remote"
        rec = ecg12.load(card.name, device="cpu").reconstruct(lead_i, fs=500.0)
        assert http_server.hits(card.file) == 1
        assert model_status(card, load_registry()) == "cached"
        assert rec.p_signal.shape == (5000, 12) and np.isfinite(rec.p_signal).all()
        assert np.corrcoef(rec.p_signal[:, 0], lead_i)[0, 1] > 0.99  # Lead I is the input
