"""A whole `kedro run` on a tiny generated business, in a temporary project copy.

The copy has the repository's real ``conf/`` with only two changes: the demo
business is small, and MLflow tracks to a sqlite store inside the copy.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pytest
import yaml
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro_mlflow.framework.hooks.mlflow_hook import mlflow_hook
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

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


def copy_project(target: Path) -> None:
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


def pipeline_runs(client: MlflowClient, experiment_name: str) -> list[Run]:
    """The experiment's `kedro run` runs, oldest first, without nested runs."""
    experiment = client.get_experiment_by_name(experiment_name)
    assert experiment is not None, experiment_name
    found = client.search_runs(
        [experiment.experiment_id], order_by=["attributes.start_time ASC"]
    )
    # The backtest logs one nested run per model under each pipeline run.
    return [run for run in found if "mlflow.parentRunId" not in run.data.tags]


def run_kedro(
    project: Path,
    pipeline: str | None = None,
    env: str | None = None,
    params: dict | None = None,
) -> None:
    """Run a pipeline of the project the way `kedro run` does."""
    # kedro-mlflow's hook is a process-wide singleton that keeps the last run id
    # and re-opens it before nodes of an untracked pipeline; `kedro run` starts
    # a fresh process each time, so start each in-process run equally clean.
    mlflow_hook.run_id = None
    bootstrap_project(project)
    with KedroSession.create(
        project_path=project, env=env, runtime_params=params
    ) as session:
        session.run(pipeline_names=[pipeline] if pipeline else None)


@contextmanager
def inside(project: Path) -> Iterator[TrainedProject]:
    """Work in ``project`` (catalog paths are relative to the working directory).

    Restores the working directory and MLflow's tracking URI, so projects do not
    leak into each other.
    """
    previous_cwd, previous_uri = Path.cwd(), mlflow.get_tracking_uri()
    os.chdir(project)
    try:
        yield TrainedProject(project, f"sqlite:///{project}/mlflow.db")
    finally:
        os.chdir(previous_cwd)
        mlflow.set_tracking_uri(previous_uri)


@pytest.fixture(scope="session")
def trained_project(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TrainedProject]:
    """Generate the tiny business, then run the default pipeline twice."""
    project = tmp_path_factory.mktemp("project")
    copy_project(project)
    with inside(project) as trained:
        run_kedro(project, "demo_data")
        run_kedro(project)
        run_kedro(project)
        yield trained


@pytest.fixture(scope="session")
def project_without_nps(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TrainedProject]:
    """One default run in an environment that declares the NPS table absent."""
    project = tmp_path_factory.mktemp("project_without_nps")
    copy_project(project)
    env = project / "conf/no_nps"
    env.mkdir()
    (env / "catalog.yml").write_text(
        "raw_nps_responses:\n  type: churn_pipeline.datasets.AbsentTableDataset\n"
    )
    with inside(project) as trained:
        run_kedro(project, "demo_data")
        run_kedro(project, env="no_nps")
        yield trained


SHARED_DATASETS = PROJECT_ROOT.parent / "shared" / "datasets"


def run_on_shared_dataset(
    tmp_path_factory: pytest.TempPathFactory,
    env: str,
    dataset: str,
    pipeline: str,
    params: dict | None = None,
) -> Iterator[TrainedProject]:
    """`kedro run --env <env> --pipelines <pipeline> [--params]` on a shared dataset."""
    if not (SHARED_DATASETS / dataset).is_dir():
        pytest.skip(
            f"the shared datasets are not beside the project: {SHARED_DATASETS}"
        )
    project = tmp_path_factory.mktemp(f"project_{env}")
    copy_project(project)
    env_globals = project / f"conf/{env}/globals.yml"
    values = yaml.safe_load(env_globals.read_text())
    env_globals.write_text(
        yaml.safe_dump({**values, "datasets_dir": str(SHARED_DATASETS)})
    )
    with inside(project) as trained:
        run_kedro(project, pipeline, env=env, params=params)
        yield trained


@pytest.fixture(scope="session")
def telco_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrainedProject]:
    """`kedro run --env telco --pipelines customer_table` on the shared Telco file."""
    yield from run_on_shared_dataset(
        tmp_path_factory, "telco", "telco-customer-churn", "customer_table"
    )


@pytest.fixture(scope="session")
def ravenstack_project(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TrainedProject]:
    """`kedro run --env ravenstack --pipelines subscription_periods`."""
    yield from run_on_shared_dataset(
        tmp_path_factory, "ravenstack", "ravenstack-saas", "subscription_periods"
    )
