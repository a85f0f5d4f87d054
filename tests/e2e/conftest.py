"""A whole `kedro run` on a tiny generated business, in a temporary project copy.

The copy has the repository's real ``conf/`` with only two changes: the demo
business is small, and MLflow tracks to a sqlite store inside the copy.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pytest
import yaml
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

PROJECT_ROOT = Path(__file__).resolve().parents[2]

TINY_BUSINESS = {
    "n_accounts": 600,
    "start_date": "2024-01-01",
    "end_date": "2025-06-30",
}


@dataclass(frozen=True)
class TrainedProject:
    """A temporary project after two default runs."""

    path: Path
    tracking_uri: str


def _copy_project(target: Path) -> None:
    shutil.copytree(PROJECT_ROOT / "conf", target / "conf")
    shutil.copy(PROJECT_ROOT / "pyproject.toml", target / "pyproject.toml")
    shutil.copy(PROJECT_ROOT / ".telemetry", target / ".telemetry")
    (target / "src").mkdir()  # Kedro wants it; the package itself is installed
    for layer in (PROJECT_ROOT / "data").iterdir():
        (target / "data" / layer.name).mkdir(parents=True)
    demo = target / "conf/base/parameters_demo_data.yml"
    params = yaml.safe_load(demo.read_text())
    params["demo_data"].update(TINY_BUSINESS)
    demo.write_text(yaml.safe_dump(params))
    mlflow_conf = target / "conf/base/mlflow.yml"
    config = yaml.safe_load(mlflow_conf.read_text())
    config["server"]["mlflow_tracking_uri"] = f"sqlite:///{target}/mlflow.db"
    mlflow_conf.write_text(yaml.safe_dump(config))


def run_kedro(project: Path, pipeline: str | None = None) -> None:
    """Run a pipeline of the project the way `kedro run` does."""
    bootstrap_project(project)
    with KedroSession.create(project_path=project) as session:
        session.run(pipeline_names=[pipeline] if pipeline else None)


@pytest.fixture(scope="session")
def trained_project(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TrainedProject]:
    """Generate the tiny business, then run the default pipeline twice."""
    project = tmp_path_factory.mktemp("project")
    _copy_project(project)
    previous_cwd, previous_uri = Path.cwd(), mlflow.get_tracking_uri()
    os.chdir(project)  # catalog paths are relative to the working directory
    try:
        run_kedro(project, "demo_data")
        run_kedro(project)
        run_kedro(project)
        yield TrainedProject(project, f"sqlite:///{project}/mlflow.db")
    finally:
        os.chdir(previous_cwd)
        mlflow.set_tracking_uri(previous_uri)
