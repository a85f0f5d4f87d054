"""Project hooks: parameters checked at start, one run per project at a time."""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path
from typing import Any

from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.io import DataCatalog
from kedro.pipeline import Pipeline
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from churn_pipeline.config import (
    ParameterSources,
    ProjectParameters,
    check_input_kind,
    validate_parameters,
)
from churn_pipeline.model_registry.tracking import label_experiment, run_name
from churn_pipeline.reporting.run_summary import log_run_summary, summary_settings
from churn_pipeline.runs import (
    LOCK_FILENAME,
    Holder,
    RunLock,
    fail_abandoned_runs,
    wait_seconds,
)

logger = logging.getLogger(__name__)


class ParameterCheckHooks:
    """Fail a run at once on a parameter its model rejects.

    Every parameter is checked when the context is created; before the run,
    the requested pipelines are checked against the environment's
    ``input_kind``. Nodes keep receiving the plain dicts.
    """

    def __init__(self) -> None:
        self._params: ProjectParameters | None = None
        self._sources = ParameterSources()

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        """Validate the merged parameters (files and ``--params``)."""
        # The loader's merge, not context.params: that also runs Kedro's own
        # node-signature validation over every pipeline.
        loader = context.config_loader
        self._sources = ParameterSources.from_loader(loader, context.project_path)
        self._params = validate_parameters(loader["parameters"], self._sources)

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params: dict[str, Any]) -> None:
        """Refuse another input kind's pipeline than the environment's."""
        if self._params is None:
            return
        check_input_kind(
            self._params.input_kind,
            run_params.get("pipeline_names"),
            env=run_params.get("env"),
            source=self._sources.source_of(("input_kind",)),
        )


class RunLockHooks:
    """One run per project: hold the run lock from start to end of the run.

    Taken before kedro-mlflow opens the run's MLflow run (``tryfirst``), so a
    refused run leaves nothing behind; released after kedro-mlflow closed it
    (``trylast``). Holding the lock, the run marks FAILED the MLflow runs an
    earlier, killed run left RUNNING.
    """

    def __init__(self) -> None:
        self._lock: RunLock | None = None
        self._context: KedroContext | None = None

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        """Keep the context: kedro-mlflow stores its configuration on it."""
        self._context = context

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params: dict[str, Any]) -> None:
        """Take the lock (or refuse), then close abandoned MLflow runs."""
        holder = Holder.current(run_params.get("pipeline_names"), run_params["env"])
        lock = RunLock(
            Path(run_params["project_path"]) / LOCK_FILENAME, wait_s=wait_seconds()
        )
        lock.acquire(holder)
        self._lock = lock
        self._fail_abandoned_runs(run_params["project_path"], holder)

    @hook_impl(trylast=True)
    def after_pipeline_run(self) -> None:
        """Release the lock."""
        self._release()

    @hook_impl(trylast=True)
    def on_pipeline_error(self) -> None:
        """Release the lock."""
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _fail_abandoned_runs(self, project_path: str, holder: Holder) -> None:
        mlflow_config = getattr(self._context, "mlflow", None)
        if mlflow_config is None:  # kedro-mlflow is not active
            return
        try:
            fail_abandoned_runs(
                MlflowClient(mlflow_config.server.mlflow_tracking_uri),
                project_path=project_path,
                reason=(
                    "left RUNNING by a kedro run that ended without closing it; "
                    f"marked FAILED by the run of pid {os.getpid()} started "
                    f"{holder.started}"
                ),
            )
        except MlflowException as error:
            # Housekeeping only: an unreachable server fails the run later anyway.
            logger.warning("Could not check for abandoned MLflow runs: %s", error)


class RunSummaryHooks:
    """End a successful run with a few lines: metrics, champion, where to look."""

    def __init__(self) -> None:
        self._settings: dict[str, Any] = {}

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        """Read the experiment, alias and UI address the summary names."""
        self._settings = summary_settings(context.config_loader)

    # Not trylast: the run lock's release stays the very last hook of a run.
    @hook_impl
    def after_pipeline_run(self, pipeline: Pipeline, catalog: DataCatalog) -> None:
        """Log what this run's pipeline wrote (nothing for e.g. demo_data)."""
        try:
            log_run_summary(catalog, pipeline.all_outputs(), **self._settings)
        except Exception as error:
            # The run itself succeeded: a summary problem must not fail it.
            logger.warning("No run summary: %s", error)


class MlflowRunHooks:
    """Runs named for people, the experiment opening on its runs in the UI.

    Before kedro-mlflow starts the MLflow run (``tryfirst``) the run gets a name
    like ``event_history local 2025-12-02 13:38``, unless mlflow.yml sets
    ``tracking.run.name``; the experiment gets its kind tag once (see
    ``model_registry.tracking``).
    """

    def __init__(self) -> None:
        self._context: KedroContext | None = None

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        """Keep the context: kedro-mlflow stores its configuration on it."""
        self._context = context

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params: dict[str, Any]) -> None:
        """Name the run and label the experiment, if this run is tracked."""
        context = self._context
        config = getattr(context, "mlflow", None)
        names = run_params.get("pipeline_names") or ["__default__"]
        if context is None or config is None:  # kedro-mlflow is not active
            return
        if set(names) <= set(config.tracking.disable_tracking.pipelines):
            return
        if config.tracking.run.name is None:
            loader = context.config_loader
            env = loader.env or getattr(loader, "default_run_env", None) or "base"
            config.tracking.run.name = run_name(names, env, dt.datetime.now())
        try:
            label_experiment(
                MlflowClient(config.server.mlflow_tracking_uri),
                config.tracking.experiment.name,
            )
        except (MlflowException, ValueError) as error:
            # Cosmetic: the run itself must not fail for it.
            logger.warning("Could not tag the MLflow experiment: %s", error)
