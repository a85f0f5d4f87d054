"""Project hooks in real Kedro sessions: parameters checked, one run at a time."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import mlflow
import pytest
import yaml
from kedro.framework.hooks.manager import (
    _create_hook_manager,
    _register_hooks,
    _register_hooks_entry_points,
)
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro_mlflow.framework.hooks.mlflow_hook import mlflow_hook
from mlflow.tracking import MlflowClient

from churn_pipeline import settings
from churn_pipeline.config import ParameterError
from churn_pipeline.hooks import ParameterCheckHooks, RunLockHooks
from churn_pipeline.runs import (
    ABANDONED_TAG,
    LOCK_FILENAME,
    Holder,
    RunLock,
    RunLockedError,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path):
    """A project copy with no data, tracking to its own sqlite store."""
    target = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "conf", target / "conf")
    shutil.copy(PROJECT_ROOT / "pyproject.toml", target / "pyproject.toml")
    shutil.copy(PROJECT_ROOT / ".telemetry", target / ".telemetry")
    (target / "src").mkdir()
    mlflow_conf = target / "conf/base/mlflow.yml"
    config = yaml.safe_load(mlflow_conf.read_text())
    config["server"]["mlflow_tracking_uri"] = f"sqlite:///{target}/mlflow.db"
    mlflow_conf.write_text(yaml.safe_dump(config))
    previous_cwd, previous_uri = Path.cwd(), mlflow.get_tracking_uri()
    os.chdir(target)
    try:
        yield target
    finally:
        os.chdir(previous_cwd)
        mlflow.set_tracking_uri(previous_uri)


def _run(project, *, env=None, params=None, pipelines=None):
    mlflow_hook.run_id = None  # a fresh `kedro run` process starts clean
    bootstrap_project(project)
    with KedroSession.create(
        project_path=project, env=env, runtime_params=params
    ) as session:
        session.run(pipeline_names=pipelines)


def _runs(project, experiment="churn"):
    client = MlflowClient(f"sqlite:///{project}/mlflow.db")
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return client, []
    return client, client.search_runs([found.experiment_id])


def _lock_is_free(project):
    lock = RunLock(project / LOCK_FILENAME)
    lock.acquire(Holder.current(None, None))
    lock.release()
    return True


def _call_order(hook_name):
    manager = _create_hook_manager()
    _register_hooks(manager, settings.HOOKS)
    _register_hooks_entry_points(manager, ())
    # pluggy calls the last of get_hookimpls() first.
    impls = reversed(getattr(manager.hook, hook_name).get_hookimpls())
    return [type(impl.plugin).__name__ for impl in impls]


def test_parameters_then_lock_then_mlflow_and_lock_released_last():
    start = _call_order("before_pipeline_run")
    assert start.index(ParameterCheckHooks.__name__) < start.index(
        RunLockHooks.__name__
    )
    assert start.index(RunLockHooks.__name__) < start.index("MlflowHook")
    for end in ("after_pipeline_run", "on_pipeline_error"):
        assert _call_order(end)[-1] == RunLockHooks.__name__


def test_misspelled_params_fail_before_anything_runs(project):
    with pytest.raises(ParameterError, match=r"--params: data_validation\.mdoe"):
        _run(
            project,
            params={"data_validation": {"mdoe": "quarantine"}},
            pipelines=["data_validation"],
        )
    assert _runs(project)[1] == []


def test_telco_default_run_is_refused_with_the_command(project):
    with pytest.raises(
        ValueError,
        match=r"conf/telco/parameters\.yml sets input_kind: customer_table.*"
        r"`kedro run --env telco --pipelines customer_table`",
    ):
        _run(project, env="telco")
    assert _runs(project, "churn-telco")[1] == []
    assert _runs(project)[1] == []
    assert _lock_is_free(project)


def test_held_lock_refuses_before_mlflow_opens_a_run(project):
    other = RunLock(project / LOCK_FILENAME)
    other.acquire(Holder.current(["reporting"], None))
    try:
        with pytest.raises(RunLockedError, match=r"pipelines reporting"):
            _run(project, pipelines=["data_validation"])
    finally:
        other.release()
    assert _runs(project)[1] == []


def test_failed_run_marks_abandoned_runs_and_releases_the_lock(project):
    client = MlflowClient(f"sqlite:///{project}/mlflow.db")
    experiment = client.create_experiment("churn")
    abandoned = client.create_run(
        experiment, tags={"project_path": project.as_posix()}
    ).info.run_id
    # No raw data: the run fails in its first node.
    with pytest.raises(Exception, match=r"raw_accounts|accounts\.parquet"):
        _run(project, pipelines=["data_validation"])
    run = client.get_run(abandoned)
    assert run.info.status == "FAILED"
    assert "marked FAILED by the run of pid" in run.data.tags[ABANDONED_TAG]
    _, runs = _runs(project)
    (own,) = [r for r in runs if r.info.run_id != abandoned]
    assert own.info.status == "FAILED"  # closed by kedro-mlflow, not by us
    assert ABANDONED_TAG not in own.data.tags
    assert _lock_is_free(project)
