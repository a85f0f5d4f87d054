"""Evaluate the ensemble and its members on the out-of-time test set."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from churn_pipeline.metrics import (
    empc_optimal_rate,
    empc_score,
    expected_calibration_error,
    lift_score,
    mpc_score,
)
from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.reporting.plots import (
    plot_profit_curve,
    plot_reliability,
    plot_roc,
)

logger = logging.getLogger(__name__)


def score_metrics(
    y_true: np.ndarray, probability: np.ndarray, profit: dict[str, Any]
) -> dict[str, float]:
    """Ranking, calibration and profit metrics of one scorer.

    Args:
        y_true: Binary labels.
        probability: Churn probabilities (or any score, for the ranking metrics).
        profit: ``profit`` parameters (CLV, costs, Beta(alpha, beta), accept rate).

    Returns:
        Metric name (without prefix) to value.
    """
    costs = {
        "clv": profit["clv"],
        "incentive_cost": profit["incentive_cost"],
        "contact_cost": profit["contact_cost"],
    }
    beta = {"alpha": profit["alpha"], "beta": profit["beta"]}
    return {
        "roc_auc": roc_auc_score(y_true, probability),
        "pr_auc": average_precision_score(y_true, probability),
        "brier": brier_score_loss(y_true, probability),
        "ece": expected_calibration_error(y_true, probability),
        "top_decile_lift": lift_score(y_true, probability, fraction=0.1),
        "empc": empc_score(y_true, probability, **costs, **beta),
        "empc_optimal_fraction": empc_optimal_rate(
            y_true, probability, **costs, **beta
        ),
        "mpc": mpc_score(
            y_true, probability, **costs, accept_rate=profit["accept_rate"]
        ),
    }


def evaluate_model(
    model: ChurnEnsemble, test: pd.DataFrame, profit: dict[str, Any]
) -> tuple[dict[str, float], Figure, Figure, Figure]:
    """Compute the test metrics of the ensemble and of each member, and plots.

    Ensemble metrics are ``test_<metric>``; a member's are
    ``<member>_test_<metric>`` (members are uncalibrated, so their Brier score
    and ECE show what calibration buys).

    Args:
        model: The fitted ensemble.
        test: Out-of-time test snapshots with ``label``.
        profit: ``profit`` parameters.

    Returns:
        Metrics, ROC figure, profit-curve figure, reliability figure.
    """
    y_true = test["label"].to_numpy(dtype=int)
    probability = model.predict_proba(test)[:, 1]
    scores = {"ensemble": probability, **model.member_probabilities(test)}
    metrics: dict[str, float] = {
        "test_rows": float(len(test)),
        "test_churn_rate": float(y_true.mean()),
    }
    for name, score in scores.items():
        prefix = "test_" if name == "ensemble" else f"{name}_test_"
        for metric, value in score_metrics(y_true, score, profit).items():
            metrics[prefix + metric] = float(value)
    logger.info(
        "Out-of-time test: ROC AUC %.3f, PR AUC %.3f, EMPC %.2f, MPC %.2f, "
        "top-decile lift %.2f, Brier %.4f (%d rows, churn rate %.2f%%)",
        metrics["test_roc_auc"],
        metrics["test_pr_auc"],
        metrics["test_empc"],
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
        clv=profit["clv"],
        incentive_cost=profit["incentive_cost"],
        contact_cost=profit["contact_cost"],
        accept_rate=profit["accept_rate"],
        empc_rate=metrics["test_empc_optimal_fraction"],
    )
    reliability = plot_reliability(y_true, probability)
    return metrics, roc, profit_figure, reliability
