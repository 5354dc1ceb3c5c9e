"""training.harness: the provenance and files every study's page is made of."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training import harness


def test_a_failed_json_write_keeps_the_last_good_file(tmp_path: Path) -> None:
    """An interrupted study must not leave half a results file where the last good one was."""
    path = tmp_path / "results.json"
    harness.write_json(path, {"mean_r": 0.78})
    with pytest.raises(TypeError):
        harness.write_json(path, {"mean_r": 0.79, "model": object()})  # not serialisable
    assert json.loads(path.read_text()) == {"mean_r": 0.78}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary left behind


def test_the_command_is_one_a_reader_can_paste() -> None:
    cmd = harness.command("training.evaluate", ["--ptbxl", "my data/ptbxl", "--model", "ekgan"])
    assert cmd == "python -m training.evaluate --ptbxl 'my data/ptbxl' --model ekgan"


def test_markdown_table_has_a_separator_row_per_column() -> None:
    assert harness.markdown_table(["model", "r"], [["ekgan", "0.78"]]) == [
        "| model | r |",
        "|---|---|",
        "| ekgan | 0.78 |",
    ]
