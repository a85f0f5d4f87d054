"""MLflow runs a killed `kedro run` left open, marked failed by the next run."""

from __future__ import annotations

import logging

from mlflow.entities import Run, RunStatus, ViewType
from mlflow.tracking import MlflowClient

logger = logging.getLogger(__name__)

# Why the run was closed by another one.
ABANDONED_TAG = "churn.abandoned_run"
# kedro-mlflow tags each pipeline run with the run parameters, this one included.
PROJECT_PATH_TAG = "project_path"
_PARENT_TAG = "mlflow.parentRunId"


def _running(client: MlflowClient) -> list[Run]:
    experiments = client.search_experiments(view_type=ViewType.ACTIVE_ONLY)
    if not experiments:
        return []
    return list(
        client.search_runs(
            [e.experiment_id for e in experiments],
            filter_string="attributes.status = 'RUNNING'",
            run_view_type=ViewType.ACTIVE_ONLY,
        )
    )


def fail_abandoned_runs(
    client: MlflowClient,
    *,
    project_path: str,
    reason: str,
    keep: frozenset[str] = frozenset(),
) -> list[str]:
    """Mark FAILED the runs of this project still RUNNING, and their nested runs.

    Call it only while holding the project's run lock: then no other run of
    the project is alive, so a run still RUNNING was left by one that ended
    without closing it (killed, or its machine went down).

    Args:
        client: Client of the tracking server.
        project_path: The project's path, as kedro-mlflow tags its runs.
        reason: Stored in the ``churn.abandoned_run`` tag of each run closed.
        keep: Run ids to leave alone (e.g. the current run).

    Returns:
        The ids of the runs marked FAILED, sorted.
    """
    running = _running(client)
    ours = {
        run.info.run_id
        for run in running
        if run.data.tags.get(PROJECT_PATH_TAG) == project_path
    }
    nested = {
        run.info.run_id for run in running if run.data.tags.get(_PARENT_TAG) in ours
    }
    abandoned = sorted((ours | nested) - keep)
    for run_id in abandoned:
        client.set_tag(run_id, ABANDONED_TAG, reason)
        client.set_terminated(run_id, status=RunStatus.to_string(RunStatus.FAILED))
    if abandoned:
        logger.info(
            "Marked %d MLflow run(s) left RUNNING by an earlier, killed run as "
            "FAILED: %s",
            len(abandoned),
            ", ".join(abandoned),
        )
    return abandoned
