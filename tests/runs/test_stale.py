"""Runs a killed `kedro run` left RUNNING are marked FAILED by the next run."""

from __future__ import annotations

import logging

import pytest
from mlflow.tracking import MlflowClient

from churn_pipeline.runs import ABANDONED_TAG, fail_abandoned_runs

PROJECT = "/projects/churn"


@pytest.fixture
def client(tmp_path):
    return MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")


def _run(client, experiment_id, *, project=PROJECT, parent=None, finished=False):
    tags = {} if project is None else {"project_path": project}
    if parent is not None:
        tags["mlflow.parentRunId"] = parent
    run = client.create_run(experiment_id, tags=tags)
    if finished:
        client.set_terminated(run.info.run_id, status="FINISHED")
    return run.info.run_id


def _status(client, run_id):
    return client.get_run(run_id).info.status


def test_marks_only_this_projects_abandoned_runs(client, caplog):
    churn = client.create_experiment("churn")
    telco = client.create_experiment("churn-telco")
    killed = _run(client, churn)
    killed_nested = _run(client, churn, project=None, parent=killed)
    killed_in_telco = _run(client, telco)
    done = _run(client, churn, finished=True)
    other_project = _run(client, churn, project="/elsewhere")
    manual = _run(client, churn, project=None)
    current = _run(client, churn)

    with caplog.at_level(logging.INFO, logger="churn_pipeline.runs.stale"):
        marked = fail_abandoned_runs(
            client,
            project_path=PROJECT,
            reason="killed earlier",
            keep=frozenset({current}),
        )

    assert marked == sorted([killed, killed_nested, killed_in_telco])
    for run_id in marked:
        assert _status(client, run_id) == "FAILED"
        assert client.get_run(run_id).data.tags[ABANDONED_TAG] == "killed earlier"
        assert client.get_run(run_id).info.end_time is not None
    assert _status(client, done) == "FINISHED"
    for untouched in (other_project, manual, current):
        assert _status(client, untouched) == "RUNNING"
        assert ABANDONED_TAG not in client.get_run(untouched).data.tags
    lines = [r.getMessage() for r in caplog.records if "FAILED" in r.getMessage()]
    assert len(lines) == 1
    assert "3 MLflow run(s)" in lines[0]


def test_nothing_to_mark_logs_nothing(client, caplog):
    experiment = client.create_experiment("churn")
    _run(client, experiment, finished=True)
    with caplog.at_level(logging.INFO, logger="churn_pipeline.runs.stale"):
        assert fail_abandoned_runs(client, project_path=PROJECT, reason="x") == []
    assert caplog.records == []
