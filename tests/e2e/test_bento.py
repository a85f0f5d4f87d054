"""`make bento` after a run builds a Bento that serves with no MLflow store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from mlflow.tracking import MlflowClient
from tests.e2e.servers import PROJECT_ROOT, running_server

from churn_pipeline.serving.metadata import example_request

pytestmark = [pytest.mark.e2e, pytest.mark.serving]


def test_built_bento_serves_the_champion_without_mlflow(trained_project, tmp_path):
    home = tmp_path / "bentoml_home"
    env = {**os.environ, "BENTOML_HOME": str(home)}
    build = subprocess.run(
        ["make", "bento", f"TRACKING_URI={trained_project.tracking_uri}"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,  # the assertion below shows the output
    )
    assert build.returncode == 0, (build.stdout + build.stderr)[-4000:]
    bentoml = Path(sys.executable).with_name("bentoml")
    listed = subprocess.run(
        [str(bentoml), "list", "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    (bento,) = json.loads(listed.stdout)
    champion = MlflowClient(trained_project.tracking_uri).get_model_version_by_alias(
        "churn-model", "champion"
    )

    # An empty tracking store: whatever the Bento serves, it carries itself.
    nowhere = type(trained_project)(tmp_path, f"sqlite:///{tmp_path}/empty.db")
    with running_server(
        nowhere, tmp_path / "bento.log", home, target=bento["tag"]
    ) as url:
        metadata = httpx.get(f"{url}/metadata", timeout=30).json()
        predicted = httpx.post(f"{url}/predict", json=example_request(), timeout=60)

    assert metadata["model_version"] == str(champion.version)
    assert metadata["alias"] == "champion"
    assert predicted.status_code == 200, predicted.text
    assert predicted.json()["model_version"] == str(champion.version)
