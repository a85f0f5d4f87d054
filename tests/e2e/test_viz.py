"""`kedro viz` serves the project's pipelines (the real server, over HTTP)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from churn_pipeline.pipeline_registry import INPUT_KINDS

pytestmark = pytest.mark.e2e

STARTUP_SECONDS = 180


def _free_port() -> int:
    """A free port kedro-viz accepts: it refuses ports above 49151, and the OS
    hands out ephemeral ports above that."""
    for port in range(41731, 49151, 7):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("No free port below 49152 for kedro-viz")


def test_kedro_viz_shows_every_pipeline(trained_project, tmp_path):
    port = _free_port()
    kedro = Path(sys.executable).with_name("kedro")
    log = (tmp_path / "viz.log").open("w")
    command = [str(kedro), "viz", "run", "--no-browser", "--host", "127.0.0.1"]
    server = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=trained_project.path,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"},
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        graph = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/main", timeout=10)
                if response.status_code == 200:
                    graph = response.json()
                    break
            except httpx.TransportError:
                time.sleep(1)
        assert graph is not None, (tmp_path / "viz.log").read_text()[-3000:]
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    pipelines = {p["id"] for p in graph["pipelines"]}
    expected = {
        *INPUT_KINDS,
        *(name for names in INPUT_KINDS.values() for name in names),
    }
    assert expected | {"__default__"} <= pipelines
    nodes = {n["name"] for n in graph["nodes"] if n["type"] == "task"}
    assert {"build_report_node", "score_snapshot_node", "train_ensemble_node"} <= nodes
