"""Model cards in ecg12's registry: file hashes, provenance and registration.

Kept free of Keras so that every model family (the linear floor included) can register itself
without the deep-learning stack.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from ecg12.registry import file_sha256 as sha256
from ecg12.writers import write_text

__all__ = ["REGISTRY", "git_commit", "register", "sha256"]

REGISTRY = Path(__file__).resolve().parents[1] / "ecg12" / "models" / "registry.json"


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=REGISTRY.parents[2],
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def register(name: str, card: dict, registry: Path = REGISTRY, default: bool = False) -> None:
    """Insert or replace ``name``'s card in the registry file (atomically); ``default`` makes
    it the default of its kind (``any_lead_default`` for an ``"inputs": "any"`` card)."""
    data = json.loads(registry.read_text())
    data["models"][name] = card
    if default:
        data["any_lead_default" if card.get("inputs") == "any" else "default"] = name
    write_text(registry, json.dumps(data, indent=2) + "\n")
