"""Offline download tests: a real HTTP server on 127.0.0.1 and a tiny real model it serves.

A test module enables the fixtures with ``pytest_plugins = ["httpserver"]`` (pytest puts tests/
on sys.path) and may import the helpers. ``http_server`` serves ``tmp_path / "served"`` on a free
port from a thread, counts GET requests per path so tests can tell whether a download happened,
and stops after the test. ``tiny_repo`` puts a 12-lead ONNX model there and points
``ECG12_REGISTRY``, ``ECG12_MODEL_URL`` and ``ECG12_CACHE_DIR`` at it.

PYTEST_DONT_REWRITE: this module has no asserts, and the marker lets test modules import its
helpers before pytest loads it as a plugin without a "cannot be rewritten" warning.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest


class _CountingHandler(SimpleHTTPRequestHandler):
    server: LocalServer

    def do_GET(self) -> None:
        self.server.count(urlsplit(self.path).path)
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""


class LocalServer(ThreadingHTTPServer):
    """Serves the files in ``root``; ``requests`` counts GETs by URL path ("/name.onnx")."""

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), partial(_CountingHandler, directory=str(root)))
        self.root = root
        self.requests: Counter[str] = Counter()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """Base URL with a trailing slash: ``url + file name`` fetches a file from ``root``."""
        return f"http://127.0.0.1:{self.server_port}/"

    def count(self, path: str) -> None:
        with self._lock:
            self.requests[path] += 1

    def hits(self, file_name: str) -> int:
        """How many times ``root / file_name`` was requested."""
        with self._lock:
            return self.requests["/" + file_name]


@pytest.fixture
def http_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    """A running :class:`LocalServer` over the empty folder ``tmp_path / "served"``."""
    # A proxy configured in the environment must not intercept requests to 127.0.0.1.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    root = tmp_path / "served"
    root.mkdir()
    server = LocalServer(root)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


SPEC = {
    "fs": 250,
    "window": 512,
    "stride": 256,
    "highpass_hz": 0.5,
    "lowpass_hz": 100.0,
    "scale_mv": 1.0,
    "filter_order": 2,
}
MODEL_FILE = "tiny-v1.onnx"
DROP = object()  # marks a field to remove from a card entry


def write_tiny_model(path: Path) -> bytes:
    """Write a real ONNX model whose output lead k is (k + 1) x Lead I; return its bytes."""
    from onnx import TensorProto, helper, numpy_helper

    inits = [
        numpy_helper.from_array(np.array([1], np.int64), "axes"),
        numpy_helper.from_array(np.array([1, 12, 1], np.int64), "repeats"),
        numpy_helper.from_array(np.arange(1, 13, dtype=np.float32).reshape(1, 12, 1), "gains"),
    ]
    nodes = [
        helper.make_node("Unsqueeze", ["lead_i", "axes"], ["lead_i_3d"]),
        helper.make_node("Tile", ["lead_i_3d", "repeats"], ["tiled"]),
        helper.make_node("Mul", ["tiled", "gains"], ["leads"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("lead_i", TensorProto.FLOAT, ["batch", "window"])],
        [helper.make_tensor_value_info("leads", TensorProto.FLOAT, ["batch", 12, "window"])],
        initializer=inits,
    )
    return save_graph(graph, path)


def save_graph(graph: Any, path: Path) -> bytes:
    """A checked opset-17 model of ``graph`` written to ``path``; returns its bytes (for hashes)."""
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    path.write_bytes(data)
    return data


def card_entry(data: bytes, **changes: Any) -> dict[str, Any]:
    """A valid registry entry for the model bytes ``data``, with ``changes`` applied."""
    entry: dict[str, Any] = {
        "version": "1.0.0",
        "file": MODEL_FILE,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size_bytes": len(data),
        "bundled": False,
        "description": "test model: gains 1..12",
        "preprocessing": dict(SPEC),
        "training": {"epochs": 1},
        "metrics": {"fold9": {"mean_r": 0.812, "mae_mv": 0.047}},
    }
    entry.update(changes)
    return {key: value for key, value in entry.items() if value is not DROP}


def write_registry(path: Path, models: dict[str, Any], default: str = "tiny") -> Path:
    # base_url points nowhere: downloads only work when ECG12_MODEL_URL overrides it.
    body = {"base_url": "http://127.0.0.1:9/nowhere/", "default": default, "models": models}
    path.write_text(json.dumps(body, indent=2))
    return path


@dataclass
class TinyRepo:
    """What ``tiny_repo`` set up: the server holding the model, its bytes and the cache folder."""

    server: LocalServer
    model: bytes
    cache: Path

    def cached_files(self) -> list[Path]:
        return [p for p in self.cache.rglob("*") if p.is_file()]


@pytest.fixture
def tiny_repo(
    http_server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> TinyRepo:
    """Model "tiny" on the local server, its registry and an empty cache, all set in the env."""
    model = write_tiny_model(http_server.root / MODEL_FILE)
    registry = write_registry(tmp_path / "registry.json", {"tiny": card_entry(model)})
    monkeypatch.setenv("ECG12_REGISTRY", str(registry))
    monkeypatch.setenv("ECG12_MODEL_URL", http_server.url)
    monkeypatch.setenv("ECG12_CACHE_DIR", str(tmp_path / "cache"))
    return TinyRepo(server=http_server, model=model, cache=tmp_path / "cache")
