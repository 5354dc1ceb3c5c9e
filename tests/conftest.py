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
