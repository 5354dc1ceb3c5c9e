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
    """Root of the real data (``ptbxl/`` and ``fixtures/``); see ../shared/data/README.md.

    A user's fresh clone has none: tests that need it skip there, and run wherever it is.
    """
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"needs real records ($ECG12_SHARED_DATA or ../shared/data): {path} is absent")
    return path


@pytest.fixture(scope="session")
def native(shared_data: Path) -> Path:
    """The 12 PTB-XL records in PhysioNet's own layout (fold 9: ecg_id 8 and 10; fold 8: 12)."""
    return shared_data / "fixtures" / "ptbxl-native"


def write_tiny_bundle(root: Path) -> Path:
    """A bundled real ONNX model "tiny" (output lead k = (k + 1) x Lead I) beside its registry.

    Its output is known exactly, so tests can check windowing, stitching and scaling against
    a known answer. Returns the registry file.
    """
    from httpserver import card_entry, write_registry, write_tiny_model

    root.mkdir(parents=True, exist_ok=True)
    data = write_tiny_model(root / "tiny-v1.onnx")
    return write_registry(root / "registry.json", {"tiny": card_entry(data, bundled=True)})


@pytest.fixture(scope="session")
def tiny_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny bundle, shared read-only by a session (pass it as a registry path)."""
    return write_tiny_bundle(tmp_path_factory.mktemp("registry"))


@pytest.fixture
def tiny_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh tiny bundle made the default through ``ECG12_REGISTRY`` (tests may edit it)."""
    registry = write_tiny_bundle(tmp_path / "bundle")
    monkeypatch.setenv("ECG12_REGISTRY", str(registry))
    monkeypatch.setenv("ECG12_CACHE_DIR", str(tmp_path / "cache"))
    return registry
