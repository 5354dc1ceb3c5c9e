"""Fixtures shared by the runtime tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from anylead import write_anylead_bundle
from test_trust import trust_block


@pytest.fixture
def calibrated(tiny_model: Path) -> Path:
    """The tiny model with a known calibration in its card."""
    data = json.loads(tiny_model.read_text())
    data["models"]["tiny"]["trust"] = trust_block()
    tiny_model.write_text(json.dumps(data))
    return tiny_model


@pytest.fixture
def anylead_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A registry with the tiny Lead I model (the default) and the tiny any-lead model (its
    any_lead_default), set through ``ECG12_REGISTRY`` (tests may edit it)."""
    registry = write_anylead_bundle(tmp_path / "bundle")
    monkeypatch.setenv("ECG12_REGISTRY", str(registry))
    monkeypatch.setenv("ECG12_CACHE_DIR", str(tmp_path / "cache"))
    return registry
