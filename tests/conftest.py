"""Shared fixtures: where the real data lives, and small real ONNX models built for the tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    return Path(os.environ.get("ECG12_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of the real data (``ptbxl/`` and ``fixtures/``); see ../shared/data/README.md."""
    path = shared_data_dir()
    assert path.is_dir(), f"shared data not found at {path}; set ECG12_SHARED_DATA"
    return path


@pytest.fixture
def tiny_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A bundled real ONNX model "tiny" (output lead k = (k + 1) x Lead I) as the default.

    Its output is known exactly, so tests can check windowing, stitching and scaling against
    a known answer. Returns the registry file (also set in ``ECG12_REGISTRY``).
    """
    from httpserver import card_entry, write_registry, write_tiny_model

    bundle = tmp_path / "bundle"
    bundle.mkdir()
    data = write_tiny_model(bundle / "tiny-v1.onnx")
    registry = write_registry(bundle / "registry.json", {"tiny": card_entry(data, bundled=True)})
    monkeypatch.setenv("ECG12_REGISTRY", str(registry))
    monkeypatch.setenv("ECG12_CACHE_DIR", str(tmp_path / "cache"))
    return registry
