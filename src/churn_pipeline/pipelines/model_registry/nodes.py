"""Register the trained model and move the champion alias by test EMPC."""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.registry import log_and_register, promote_if_not_worse
from churn_pipeline.scoring import ScoringPolicy


def log_metrics(metrics: dict[str, float]) -> None:
    """Log the evaluation metrics to the active MLflow run.

    Args:
        metrics: Metric name to value (names as they should appear in MLflow).
    """
    mlflow.log_metrics(metrics)


def register_model(
    model: ChurnEnsemble,
    test: pd.DataFrame,
    metrics: dict[str, float],
    params: dict[str, Any],
    scoring: dict[str, Any],
    profit: dict[str, Any],
) -> dict[str, Any]:
    """Log and register the model, then promote it if it is not worse.

    The decision and its reason are written to the run's tags as well as
    returned (the catalog saves it as a JSON artifact).

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
    policy = ScoringPolicy.from_params(scoring, profit)
    version = log_and_register(
        model,
        test.head(params["n_input_example_rows"]),
        policy,
        model_name=params["model_name"],
    )
    metric = params["champion_metric"]
    decision = promote_if_not_worse(
        MlflowClient(),
        model_name=params["model_name"],
        alias=params["champion_alias"],
        version=version,
        metric=metric,
        new_value=metrics[metric],
    )
    mlflow.set_tags(
        {
            "model_version": version,
            "champion_promoted": str(decision.promoted).lower(),
            "champion_decision_reason": decision.reason,
        }
    )
    return decision.to_dict()
