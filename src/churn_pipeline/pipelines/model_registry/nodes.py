"""Register the trained model, move the champion alias, write the model card."""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from churn_pipeline.config.training import ModelRegistryParameters
from churn_pipeline.model_registry.mlflow_store import (
    check_against_baseline,
    log_and_register,
    promote_if_not_worse,
)
from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.models.baseline import single_member
from churn_pipeline.reporting.model_card import model_card
from churn_pipeline.scoring.policy import ScoringPolicy, lifetime_from_params
from churn_pipeline.validation.report import accounting_metrics


def validation_metrics(report: dict[str, Any]) -> dict[str, float]:
    """Flatten the validation accounting into MLflow metric names.

    Args:
        report: Output of the data_validation pipeline's summary node.

    Returns:
        ``validation_<table>_rows_{in,accepted,rejected}`` and
        ``validation_<table>_rejected_<rule>`` (rule sanitised for MLflow).
    """
    return accounting_metrics(report["tables"], "validation")


def run_metrics(
    evaluation: dict[str, float], validation_report: dict[str, Any]
) -> dict[str, dict[str, float]]:
    """Gather the evaluation metrics and the validation accounting for MLflow.

    Args:
        evaluation: Metric name to value (names as they should appear in MLflow).
        validation_report: Row accounting of the raw tables.

    Returns:
        Each metric as ``{"value": ..., "step": 0}``, the form the catalog's
        ``MlflowMetricsHistoryDataset`` logs to the run.
    """
    metrics = {**evaluation, **validation_metrics(validation_report)}
    return {name: {"value": float(v), "step": 0} for name, v in metrics.items()}


def tag_absent_tables(validation_report: dict[str, Any]) -> None:
    """Tag the MLflow run with the raw tables declared absent (or ``none``).

    Args:
        validation_report: Row accounting of the raw tables.
    """
    absent = validation_report.get("absent_tables", [])
    mlflow.set_tag("absent_tables", ",".join(absent) if absent else "none")


def register_model(
    model: ChurnEnsemble,
    test: pd.DataFrame,
    metrics: dict[str, float],
    params: dict[str, Any],
    scoring: dict[str, Any],
    profit: dict[str, Any],
) -> dict[str, Any]:
    """Log and register the model, then promote it if it is not worse.

    Not worse means: not below the champion on ``champion_metric``, and not
    below the default-XGBoost baseline's value of it by more than
    ``baseline_tolerance_sd`` of the ensemble's own sd (when the run logged the
    baseline). A refused version stays registered, as evidence. The decision
    and its reason are written to the run's tags (with
    ``ensemble_single_member``: the member the model's blend gives all the
    weight, or ``none``) as well as returned (the catalog saves it as JSON).

    Args:
        model: The fitted ensemble.
        test: Test snapshots (a few rows become the input example).
        metrics: The evaluation metrics.
        params: ``model_registry`` parameters.
        scoring: ``scoring`` parameters (the policy stored with the model).
        profit: ``profit`` parameters.

    Returns:
        The champion decision as a dict.
    """
    metric = params["champion_metric"]
    # Checked before registering: a champion metric the run did not log fails
    # without leaving a version behind.
    baseline = check_against_baseline(
        metrics,
        metric,
        # Validated here too, so a conf without the key gets the default.
        ModelRegistryParameters.model_validate(params).baseline_tolerance_sd,
    )
    policy = ScoringPolicy.from_params(
        scoring, profit, lifetime_months=lifetime_from_params(scoring, test["label"])
    )
    version = log_and_register(
        model,
        test.head(params["n_input_example_rows"]),
        policy,
        model_name=params["model_name"],
    )
    decision = promote_if_not_worse(
        MlflowClient(),
        model_name=params["model_name"],
        alias=params["champion_alias"],
        version=version,
        metric=metric,
        new_value=metrics[metric],
        baseline=baseline,
    )
    mlflow.set_tags(
        {
            "model_version": version,
            "champion_promoted": str(decision.promoted).lower(),
            "champion_decision_reason": decision.reason,
            "ensemble_single_member": single_member(model.weights_) or "none",
        }
    )
    return decision.to_dict()


def write_model_card(
    model: ChurnEnsemble,
    metrics: dict[str, float],
    decision: dict[str, Any],
) -> str:
    """Render the model card and attach it to the registered version.

    The catalog logs the card as a run artifact; the registered version's
    description gets the same text, so the MLflow registry UI shows it.

    Args:
        model: The fitted ensemble.
        metrics: The evaluation metrics (with the backtest's mean and sd).
        decision: The champion decision.

    Returns:
        The card (markdown).
    """
    card = model_card(model, metrics, decision)
    MlflowClient().update_model_version(
        decision["model_name"], decision["version"], description=card
    )
    return card
