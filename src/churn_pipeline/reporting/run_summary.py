"""A few closing lines after ``kedro run``: how good, what changed, where to look.

The summary reads only what the finished pipeline itself wrote (its outputs that
are in the catalog), so a partial run (``--pipelines data_validation``) mentions
only its own results and an older file from an earlier run is never reported as
new. Paths come from the catalog, so another environment's ``data_root`` shows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kedro.config import AbstractConfigLoader, MissingConfigException
from kedro.io import DataCatalog

logger = logging.getLogger(__name__)

# Catalog entries the summary reads or points to.
METRICS = "evaluation_metrics"
DECISION = "champion_decision"
VALIDATION = "validation_report"
REPORT = "churn_report"
# The day's list (daily_scoring) is what the endpoint answers; a run without it
# (customer_table) has only the training run's list.
SCORED_LISTS = ("daily_scores_csv", "churn_scores_csv")

UI_COMMAND = "make ui"
DEFAULT_UI_URL = "http://127.0.0.1:5000"
ENDPOINT = "POST http://127.0.0.1:3000/predict"
DEFAULT_MODEL_URI = "models:/churn-model@champion"


@dataclass(frozen=True)
class RunOutputs:
    """What a finished run produced that the summary reports.

    Attributes:
        metrics: ``evaluation_metrics`` if the run wrote it.
        decision: ``champion_decision`` if the run wrote it.
        validation: ``validation_report`` if the run wrote it.
        paths: Where the run wrote each reported dataset, by catalog name.
        experiment: MLflow experiment of the run, if tracked.
        alias: Registry alias the endpoint serves.
        ui_url: Where ``make ui`` serves the MLflow UI.
    """

    metrics: Mapping[str, float] | None = None
    decision: Mapping[str, Any] | None = None
    validation: Mapping[str, Any] | None = None
    paths: Mapping[str, str] = field(default_factory=dict)
    experiment: str | None = None
    alias: str = "champion"
    ui_url: str = DEFAULT_UI_URL


def _mean_sd(metrics: Mapping[str, float], prefix: str, names: Iterable[str]) -> str:
    parts = []
    for label, key in names:
        mean = metrics.get(f"{prefix}{key}_mean")
        if mean is None:
            continue
        sd = metrics.get(f"{prefix}{key}_sd")
        parts.append(f"{label} {mean:.3f}" + ("" if sd is None else f" ± {sd:.3f}"))
    return ", ".join(parts)


_HEADLINE = (
    ("EMPC", "empc"),
    ("ROC AUC", "roc_auc"),
    ("top-decile lift", "top_decile_lift"),
)


_BASELINE = "baseline_xgboost_"
_BASELINE_LABEL = "Baseline (default XGBoost)"


def _values(metrics: Mapping[str, float], prefix: str) -> str:
    return ", ".join(
        f"{label} {metrics[f'{prefix}{key}']:.3f}"
        for label, key in (*_HEADLINE, ("Brier", "brier"))
        if f"{prefix}{key}" in metrics
    )


def metric_lines(metrics: Mapping[str, float]) -> list[str]:
    """Headline metrics of the ensemble and the baseline, per kind of evaluation.

    Args:
        metrics: The run's ``evaluation_metrics``.

    Returns:
        Lines for the backtest, the out-of-time test and the cross-validation,
        each only if the metrics hold it, each followed by the default-XGBoost
        baseline's when logged; and a line when the fitted blend was one
        member alone somewhere (``ensemble_single_member_share``).
    """
    lines = []
    backtest = _mean_sd(metrics, "backtest_", _HEADLINE)
    if backtest:
        lines.append(f"Backtest (mean ± sd over origins): {backtest}")
        baseline = _mean_sd(metrics, f"{_BASELINE}backtest_", _HEADLINE)
        if baseline:
            lines.append(f"{_BASELINE_LABEL}, backtest: {baseline}")
    if "test_roc_auc" in metrics:
        rows = metrics.get("test_rows")
        lines.append(
            f"Out-of-time test: {_values(metrics, 'test_')}"
            + ("" if rows is None else f" ({rows:,.0f} rows)")
        )
        baseline = _values(metrics, f"{_BASELINE}test_")
        if baseline:
            lines.append(f"{_BASELINE_LABEL}, out-of-time test: {baseline}")
    cross_validation = _mean_sd(metrics, "cv_", _HEADLINE)
    if cross_validation:
        folds = metrics.get("cv_folds")
        label = "Cross-validation" + ("" if folds is None else f" ({folds:.0f} folds)")
        lines.append(f"{label}: {cross_validation}")
        baseline = _mean_sd(metrics, f"{_BASELINE}cv_", _HEADLINE)
        if baseline:
            lines.append(f"{_BASELINE_LABEL}, cross-validation: {baseline}")
    share = metrics.get("ensemble_single_member_share")
    if share:
        where = "backtest origins" if backtest else "cross-validation folds"
        lines.append(
            f"Ensemble: one member alone in {100 * share:.0f}% of the {where} "
            "(the log's WARNING names it)"
        )
    return lines


def decision_line(decision: Mapping[str, Any], alias: str) -> str:
    """The champion gate's verdict in one line.

    Args:
        decision: The run's ``champion_decision``.
        alias: Registry alias the gate moves.

    Returns:
        e.g. ``Champion: churn-model v3 promoted to @champion (...)``.
    """
    model = f"{decision['model_name']} v{decision['version']}"
    if decision.get("promoted"):
        verdict = f"promoted to @{alias}"
    elif decision.get("champion_version") is None:
        # Refused on the first run (e.g. by the baseline gate): nothing to serve.
        verdict = f"not promoted; no version holds @{alias}"
    else:
        verdict = f"not promoted; v{decision['champion_version']} stays @{alias}"
    return f"Champion: {model} {verdict} ({decision.get('reason', '')})"


def validation_line(report: Mapping[str, Any], path: str | None) -> str:
    """Rows in and rejected over the validated tables.

    Args:
        report: The run's ``validation_report`` (``tables`` → per-table counts).
        path: Where the report was written.

    Returns:
        e.g. ``Validation: 6 tables, 851,308 rows in, 0 rejected (path)``.
    """
    tables = [
        table
        for table in (report.get("tables") or {}).values()
        if isinstance(table, Mapping) and "rows_in" in table
    ]
    where = "" if path is None else f" ({path})"
    if not tables:
        return f"Validation report{where}"
    rows_in = sum(int(table["rows_in"]) for table in tables)
    rejected = sum(int(table.get("rows_rejected", 0)) for table in tables)
    return (
        f"Validation: {len(tables)} tables, {rows_in:,} rows in, "
        f"{rejected:,} rejected{where}"
    )


def summary_lines(outputs: RunOutputs) -> list[str]:
    """The summary, at most a dozen lines; empty when the run made nothing to report.

    Args:
        outputs: What the run produced.

    Returns:
        Lines to log, without the heading.
    """
    lines = []
    if outputs.validation is not None:
        lines.append(validation_line(outputs.validation, outputs.paths.get(VALIDATION)))
    if outputs.metrics is not None:
        lines.extend(metric_lines(outputs.metrics))
    if outputs.decision is not None:
        lines.append(decision_line(outputs.decision, outputs.alias))
    scored = next((outputs.paths[n] for n in SCORED_LISTS if n in outputs.paths), None)
    if scored is not None:
        lines.append(f"Scored list: {scored}")
    if REPORT in outputs.paths:
        lines.append(f"Report: {outputs.paths[REPORT]}")
    if not lines:
        return lines
    if outputs.experiment is not None:
        lines.append(
            f"MLflow UI: {UI_COMMAND}, then {outputs.ui_url} "
            f"(experiment '{outputs.experiment}')"
        )
    if outputs.decision is not None:
        model_uri = f"models:/{outputs.decision['model_name']}@{outputs.alias}"
        serve = "make serve"
        if model_uri != DEFAULT_MODEL_URI:
            serve += f" MODEL_URI={model_uri}"
        lines.append(f"Endpoint: {serve}, then {ENDPOINT} (docs/serving.md)")
    return lines


def dataset_path(catalog: DataCatalog, name: str) -> str | None:
    """Where a catalog entry writes, from its configuration.

    Args:
        catalog: The run's catalog.
        name: A dataset name (explicit or matched by a dataset factory).

    Returns:
        Its ``filepath`` (or a partitioned dataset's ``path``), looking inside
        a wrapped dataset such as kedro-mlflow's artifact dataset, relative to
        the working directory when below it; ``None`` for a dataset without one.
    """
    config = catalog.config_resolver.resolve_pattern(name)
    while isinstance(config, Mapping):
        for key in ("filepath", "path"):
            if isinstance(config.get(key), str):
                return _shown(config[key])
        config = config.get("dataset")
    return None


def _shown(path: str) -> str:
    # Kedro makes local paths absolute; below the working directory (the project
    # root, where `kedro run` starts) the relative path is what a user types.
    local = Path(path)
    if local.is_absolute() and local.is_relative_to(Path.cwd()):
        return str(local.relative_to(Path.cwd()))
    return path


def collect_outputs(
    catalog: DataCatalog,
    produced: Iterable[str],
    *,
    experiment: str | None = None,
    alias: str = "champion",
    ui_url: str = DEFAULT_UI_URL,
) -> RunOutputs:
    """Read what the summary needs among the datasets a run produced.

    Args:
        catalog: The run's catalog.
        produced: Names of the datasets the run's pipeline wrote.
        experiment: MLflow experiment of the run (``None``: not tracked).
        alias: Registry alias the endpoint serves.
        ui_url: Where ``make ui`` serves the MLflow UI.

    Returns:
        The outputs, with ``None`` for what the run did not write.
    """
    produced = set(produced)

    def load(name: str) -> Any:
        return catalog.load(name) if name in produced and catalog.exists(name) else None

    reported = (VALIDATION, REPORT, *SCORED_LISTS)
    paths = {
        name: path
        for name in reported
        if name in produced and (path := dataset_path(catalog, name)) is not None
    }
    return RunOutputs(
        metrics=load(METRICS),
        decision=load(DECISION),
        validation=load(VALIDATION),
        paths=paths,
        experiment=experiment,
        alias=alias,
        ui_url=ui_url,
    )


def summary_settings(config_loader: AbstractConfigLoader) -> dict[str, Any]:
    """The experiment, alias and UI address the summary names, from ``conf/``.

    Args:
        config_loader: The run's configuration loader.

    Returns:
        Keyword arguments for ``log_run_summary``; a file that is missing leaves
        its defaults (no experiment: no MLflow line).
    """
    settings: dict[str, Any] = {}
    try:
        mlflow = config_loader["mlflow"] or {}
    except (KeyError, MissingConfigException):
        mlflow = {}
    experiment = mlflow.get("tracking", {}).get("experiment", {}).get("name")
    if experiment:
        settings["experiment"] = experiment
    ui = mlflow.get("ui") or {}
    if "host" in ui and "port" in ui:
        settings["ui_url"] = f"http://{ui['host']}:{ui['port']}"
    try:
        registry = (config_loader["parameters"] or {}).get("model_registry") or {}
    except (KeyError, MissingConfigException):
        registry = {}
    if registry.get("champion_alias"):
        settings["alias"] = registry["champion_alias"]
    return settings


def log_run_summary(
    catalog: DataCatalog, produced: Iterable[str], **kwargs: Any
) -> list[str]:
    """Log the summary of a finished run.

    Args:
        catalog: The run's catalog.
        produced: Names of the datasets the run's pipeline wrote.
        **kwargs: ``experiment``, ``alias`` and ``ui_url`` for ``collect_outputs``.

    Returns:
        The lines logged (none when the run produced nothing to report).
    """
    lines = summary_lines(collect_outputs(catalog, produced, **kwargs))
    if lines:
        logger.info("Run summary:\n  %s", "\n  ".join(lines))
    return lines
