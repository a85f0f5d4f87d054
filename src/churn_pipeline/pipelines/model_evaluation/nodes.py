"""Evaluate the ensemble and its members: out-of-time test and rolling backtest."""

from __future__ import annotations

import logging
from typing import Any

import mlflow
import pandas as pd
from matplotlib.figure import Figure

from churn_pipeline.datasets.parquet_table import TableData
from churn_pipeline.evaluation.backtest import (
    BACKTEST_METRICS,
    ENSEMBLE,
    comparison_markdown,
    rolling_origin_backtest,
    score_metrics,
    single_member_share,
    summarise_backtest,
)
from churn_pipeline.evaluation.economics import RetentionEconomics
from churn_pipeline.evaluation.snapshots import Snapshots, weights_of
from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.models.baseline import BASELINE, fit_baseline
from churn_pipeline.models.batches import scores_by_model
from churn_pipeline.pipelines.model_training.nodes import (
    configured_ensemble,
    max_training_rows,
)
from churn_pipeline.reporting.plots import (
    plot_backtest,
    plot_gains_and_lift,
    plot_profit_curve,
    plot_reliability,
    plot_roc,
    plot_score_distributions,
)

logger = logging.getLogger(__name__)


def evaluate_model(
    model: ChurnEnsemble,
    train: pd.DataFrame,
    test: pd.DataFrame,
    profit: dict[str, Any],
) -> tuple[dict[str, float], Figure, Figure, Figure, Figure, Figure]:
    """Test metrics of the ensemble, each member and the baseline, and plots.

    Ensemble metrics are ``test_<metric>``; a member's are
    ``<member>_test_<metric>`` (each member Platt-calibrated on its own, so the
    Brier score and ECE compare on equal terms); the default-settings XGBoost,
    fitted here on the ensemble's training rows and features, gives
    ``baseline_xgboost_test_<metric>``.

    Args:
        model: The fitted ensemble.
        train: The snapshots the ensemble was trained on, with ``label``.
        test: Out-of-time test snapshots with ``label``.
        profit: ``profit`` parameters.

    Returns:
        Metrics, and the ROC, profit-curve (optimum marked), reliability,
        gains-and-lift and score-distribution figures.
    """
    y_true = test["label"].to_numpy(dtype=int)
    scores = scores_by_model(model, test, _fit_baseline(model, train).predict_proba)
    probability = scores[ENSEMBLE]
    metrics: dict[str, float] = {
        "test_rows": float(len(test)),
        "test_churn_rate": float(y_true.mean()),
    }
    for name, score in scores.items():
        prefix = "test_" if name == ENSEMBLE else f"{name}_test_"
        for metric, value in score_metrics(y_true, score, profit).items():
            metrics[prefix + metric] = float(value)
    logger.info(
        "Out-of-time test: ROC AUC %.3f (baseline %.3f), PR AUC %.3f, EMPC %.2f "
        "(baseline %.2f), MPC %.2f, top-decile lift %.2f, Brier %.4f (%d rows, "
        "churn rate %.2f%%)",
        metrics["test_roc_auc"],
        metrics[f"{BASELINE}_test_roc_auc"],
        metrics["test_pr_auc"],
        metrics["test_empc"],
        metrics[f"{BASELINE}_test_empc"],
        metrics["test_mpc"],
        metrics["test_top_decile_lift"],
        metrics["test_brier"],
        len(test),
        100 * metrics["test_churn_rate"],
    )
    roc = plot_roc(y_true, scores)
    profit_figure = plot_profit_curve(
        y_true,
        probability,
        RetentionEconomics.from_params(profit),
        empc_rate=metrics["test_empc_optimal_fraction"],
    )
    reliability = plot_reliability(y_true, probability)
    gains = plot_gains_and_lift(y_true, scores)
    distributions = plot_score_distributions(y_true, probability)
    return metrics, roc, profit_figure, reliability, gains, distributions


def _fit_baseline(model: ChurnEnsemble, train: pd.DataFrame) -> Any:
    """The baseline, fitted on every row the ensemble saw."""
    return fit_baseline(
        model.numeric_features_,
        model.categorical_features_,
        train,
        train["label"],
        sample_weight=weights_of(train),
        random_state=model.random_state,
    )


def backtest_ensemble(
    model_input_table: TableData,
    training: dict[str, Any],
    evaluation: dict[str, Any],
    profit: dict[str, Any],
    validation_report: dict[str, Any],
    tuned_params: dict[str, dict[str, Any]],
) -> tuple[pd.DataFrame, dict[str, float], str, Figure]:
    """Rolling-origin backtest of the configured ensemble and its members.

    Args:
        model_input_table: All snapshots (labelled rows are used), as a file
            reference or a frame; each origin's rows are read on their own,
            training rows capped by ``sampling.max_training_rows``.
        training: ``model_training`` parameters.
        evaluation: ``model_evaluation`` parameters (``backtest_origins``).
        profit: ``profit`` parameters.
        validation_report: Row accounting (which features the data can feed).
        tuned_params: Member -> tuned estimator arguments.

    Returns:
        Per-origin results, the metrics (the ensemble's
        ``backtest_<metric>_{mean,sd}``, the baseline's
        ``baseline_xgboost_backtest_<metric>_{mean,sd}`` and
        ``ensemble_single_member_share``), the comparison table (markdown) and
        the metrics-over-time plot.
    """
    results = rolling_origin_backtest(
        Snapshots(model_input_table),
        configured_ensemble(training, validation_report, tuned_params),
        n_origins=evaluation["backtest_origins"],
        horizon_days=training["horizon_days"],
        profit=profit,
        max_training_rows=max_training_rows(training),
    )
    summary = summarise_backtest(results)
    metrics = {
        f"{prefix}backtest_{name}": float(value)
        for model, prefix in ((ENSEMBLE, ""), (BASELINE, f"{BASELINE}_"))
        for name, value in summary.loc[model].items()
    }
    metrics["ensemble_single_member_share"] = log_single_member_share(results)
    logger.info(
        "Backtest over %d origins: ensemble EMPC %.4f ± %.4f (baseline %.4f ± "
        "%.4f), Brier %.4f ± %.4f",
        results["origin"].nunique(),
        metrics["backtest_empc_mean"],
        metrics["backtest_empc_sd"],
        metrics[f"{BASELINE}_backtest_empc_mean"],
        metrics[f"{BASELINE}_backtest_empc_sd"],
        metrics["backtest_brier_mean"],
        metrics["backtest_brier_sd"],
    )
    return results, metrics, comparison_markdown(summary), plot_backtest(results)


def log_single_member_share(results: pd.DataFrame) -> float:
    """The share of origins whose blend was one member; a WARNING names them."""
    share, members = single_member_share(results)
    if members:
        logger.warning(
            "At %.0f%% of the backtest origins the fitted ensemble gave all its "
            "weight to one member (%s): there it is that member alone, recalibrated",
            100 * share,
            ", ".join(members),
        )
    return share


def collect_metrics(
    test_metrics: dict[str, float], backtest_metrics: dict[str, float]
) -> dict[str, float]:
    """The out-of-time test and backtest metrics as one set, for the registry.

    Raises:
        ValueError: If both name the same metric.
    """
    shared = sorted(set(test_metrics) & set(backtest_metrics))
    if shared:
        raise ValueError(f"Test and backtest metrics share names: {shared}")
    return {**test_metrics, **backtest_metrics}


def log_backtest_runs(results: pd.DataFrame) -> None:
    """Log each model's backtest as a nested MLflow run under the active run.

    Each nested run is named ``backtest-<model>`` and tagged ``model=<model>``;
    it holds ``backtest_<metric>_{mean,sd}`` and, per origin, the metric
    history (step = origin number, oldest first) so the MLflow UI can chart it.

    Args:
        results: Per-origin results of the backtest.
    """
    summary = summarise_backtest(results)
    origins = sorted(results["origin"].unique())
    parent = mlflow.active_run()
    experiment = parent.info.experiment_id if parent else None
    for model, row in summary.iterrows():
        with mlflow.start_run(
            experiment_id=experiment, run_name=f"backtest-{model}", nested=True
        ):
            mlflow.set_tags({"model": str(model), "backtest": "rolling_origin"})
            mlflow.log_metrics({f"backtest_{k}": float(v) for k, v in row.items()})
            per_origin = results[results["model"] == model].set_index("origin")
            for step, origin in enumerate(origins):
                mlflow.log_metrics(
                    {
                        f"origin_{metric}": float(per_origin.loc[origin, metric])
                        for metric in BACKTEST_METRICS
                    },
                    step=step,
                )
    logger.info("Logged %d nested backtest runs", len(summary))
