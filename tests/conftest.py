"""Shared fixtures: where the real data lives, and small real ONNX models built for the tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``$ECG12_SHARED_DATA``, else ``../shared/data`` beside the checkout (the team's layout)."""
    if "ECG12_SHARED_DATA" in os.environ:
        return Path(os.environ["ECG12_SHARED_DATA"])
    for parent in REPO.parents:  # a checkout nested deeper (CI, worktrees) still finds it
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    return REPO.parent / "shared" / "data"


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
