"""Fixtures shared by the runtime tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_trust import trust_block


@pytest.fixture
def calibrated(tiny_model: Path) -> Path:
    """The tiny model with a known calibration in its card."""
    data = json.loads(tiny_model.read_text())
    data["models"]["tiny"]["trust"] = trust_block()
    tiny_model.write_text(json.dumps(data))
    return tiny_model
