"""Start the real BentoML server for the end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 180


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(
    project,
    log: Path,
    home: Path,
    target: str = "serving.service:ChurnService",
    **environment: str,
) -> Iterator[str]:
    """`bentoml serve` of ``target`` (the service, or a built Bento's tag) on a
    free port, serving the project's champion, until the block ends."""
    port = _free_port()
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": project.tracking_uri,
        "CHURN_MODEL_URI": "models:/churn-model@champion",
        "BENTOML_HOME": str(home),
        # The project's own online store and prediction log, never the repo's.
        "CHURN_FEATURE_REPO": str(project.path / "data/06_models/feature_repo"),
        "CHURN_PREDICTION_LOG_DIR": str(home / "prediction_log"),
        **environment,
    }
    bentoml = Path(sys.executable).with_name("bentoml")
    command = [str(bentoml), "serve", target]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with log.open("w") as output:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # bentoml forks workers: stop the whole group
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"bentoml exited early:\n{log.read_text()[-4000:]}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"bentoml not ready in time:\n{log.read_text()[-4000:]}")
            time.sleep(1)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
