"""How the project's runs and experiment look in the MLflow UI.

kedro-mlflow names a run after its pipelines (``__default__`` for a plain ``kedro
run``) and creates the experiment untagged, which MLflow 3's UI opens on its
(empty) GenAI overview. The project hooks name every run after what it ran,
where and when, and tag the experiment as classic model training.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from mlflow.tracking import MlflowClient

from churn_pipeline.pipeline_registry import DEFAULT_INPUT_KIND

logger = logging.getLogger(__name__)

# The UI reads this experiment tag (mlflow/server/js ExperimentKindUtils.ts):
# a model-training kind opens the experiment on its Runs tab; no tag leaves the
# UI on its default, GenAI, workflow.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
MODEL_TRAINING_KIND = "custom_model_development"
_DEFAULT_PIPELINE = "__default__"


def run_name(
    pipeline_names: Sequence[str] | None, env: str, started: dt.datetime
) -> str:
    """A run name a person can scan: ``<pipelines> <env> <start, to the minute>``.

    Args:
        pipeline_names: The pipelines run (``None`` or ``__default__``: the
            default input kind's, e.g. ``event_history``).
        env: The Kedro environment, e.g. ``local`` or ``telco``.
        started: When the run started (shown in its own time zone).

    Returns:
        e.g. ``"event_history local 2025-12-02 13:38"``.
    """
    names = [
        DEFAULT_INPUT_KIND if name == _DEFAULT_PIPELINE else name
        for name in (pipeline_names or [_DEFAULT_PIPELINE])
    ]
    return f"{'+'.join(names)} {env} {started:%Y-%m-%d %H:%M}"


def label_experiment(client: MlflowClient, experiment_name: str) -> bool:
    """Tag the experiment as model training unless it already has a kind.

    A kind someone chose in the UI is left alone.

    Args:
        client: Client on the tracking store.
        experiment_name: The experiment kedro-mlflow logs to.

    Returns:
        Whether the tag was set now.

    Raises:
        ValueError: If no experiment has that name.
    """
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        raise ValueError(f"No MLflow experiment named {experiment_name!r}")
    if EXPERIMENT_KIND_TAG in experiment.tags:
        return False
    client.set_experiment_tag(
        experiment.experiment_id, EXPERIMENT_KIND_TAG, MODEL_TRAINING_KIND
    )
    logger.info(
        "Tagged experiment %r %s=%s (the UI opens it on its runs)",
        experiment_name,
        EXPERIMENT_KIND_TAG,
        MODEL_TRAINING_KIND,
    )
    return True
