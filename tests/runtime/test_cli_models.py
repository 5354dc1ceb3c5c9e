"""`ecg12 models`: the table of models and `models fetch`, against a local model server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from httpserver import MODEL_FILE, TinyRepo

from ecg12.cli.models import command

pytest_plugins = ["httpserver"]


def table_row(output: str, name: str) -> list[str]:
    """The cells of the table row that starts with ``name`` (rich draws cells between │)."""
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip("│ ").split("│")]
        if cells[0].split(" ")[0] == name:
            return cells
    raise AssertionError(f"no row for {name!r} in:\n{output}")


def test_table_lists_models_and_tracks_where_they_are(tiny_repo: TinyRepo) -> None:
    runner = CliRunner()
    result = runner.invoke(command, [])
    assert result.exit_code == 0, result.output
    row = table_row(result.stdout, "tiny")
    size_mb = f"{len(tiny_repo.model) / 1e6:.1f}"
    assert row == ["tiny (default)", "1.0.0", size_mb, "remote", "0.812", "0.047"]
    assert tiny_repo.server.hits(MODEL_FILE) == 0  # listing never downloads

    assert runner.invoke(command, ["fetch", "tiny"]).exit_code == 0
    assert table_row(runner.invoke(command, []).stdout, "tiny")[3] == "cached"


def test_fetch_downloads_verifies_and_prints_the_path(tiny_repo: TinyRepo) -> None:
    result = CliRunner().invoke(command, ["fetch", "tiny"])
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip())
    assert path.is_relative_to(tiny_repo.cache) and path.read_bytes() == tiny_repo.model
    assert tiny_repo.server.hits(MODEL_FILE) == 1


def test_fetch_all_fetches_every_model_once(tiny_repo: TinyRepo) -> None:
    runner = CliRunner()
    first = runner.invoke(command, ["fetch", "all"])
    second = runner.invoke(command, ["fetch", "all"])
    assert first.exit_code == second.exit_code == 0
    assert first.stdout == second.stdout and first.stdout.strip().endswith(MODEL_FILE)
    assert tiny_repo.server.hits(MODEL_FILE) == 1


def test_unknown_model_is_one_error_line(tiny_repo: TinyRepo) -> None:
    result = CliRunner().invoke(command, ["fetch", "huge"])
    assert result.exit_code == 1
    assert result.stderr == "error: unknown model 'huge'; known models: tiny\n"
    assert result.stdout == ""


def test_bad_registry_is_one_error_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = tmp_path / "registry.json"
    registry.write_text(json.dumps({"base_url": "http://x/", "default": "a", "models": {"a": 1}}))
    monkeypatch.setenv("ECG12_REGISTRY", str(registry))
    result = CliRunner().invoke(command, [])
    assert result.exit_code == 1
    assert result.stderr == f"error: {registry}: model 'a': must be a JSON object\n"


def test_failed_download_is_one_error_line(tiny_repo: TinyRepo) -> None:
    (tiny_repo.server.root / MODEL_FILE).write_bytes(b"not the model")
    result = CliRunner().invoke(command, ["fetch", "tiny"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: could not fetch model 'tiny'")
    assert result.stderr.count("\n") == 1
    assert tiny_repo.cached_files() == []
