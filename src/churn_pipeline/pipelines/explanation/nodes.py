"""Explain the ensemble's scores of the accounts being scored."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from churn_pipeline.models import ChurnEnsemble, ChurnExplainer, Explanation
from churn_pipeline.reporting.plots import plot_importance


def explain_scores(model: ChurnEnsemble, scoring: pd.DataFrame) -> Explanation:
    """Exact SHAP contributions (log-odds) for every account being scored.

    Args:
        model: The fitted ensemble.
        scoring: Snapshots at the newest as-of date.

    Returns:
        The explanation (rows align with ``scoring``).
    """
    return ChurnExplainer(model).explain(scoring)


def summarise_importance(
    explanation: Explanation,
) -> tuple[pd.DataFrame, Figure]:
    """Global importance: mean |SHAP| and mean SHAP per feature, and a bar plot.

    Args:
        explanation: SHAP contributions of the scored accounts.

    Returns:
        The importance table (largest first) and its figure.
    """
    contributions = explanation.contributions
    importance = pd.DataFrame(
        {
            "feature": contributions.columns,
            "mean_abs_shap": contributions.abs().mean().to_numpy(),
            "mean_shap": contributions.mean().to_numpy(),
        }
    ).sort_values("mean_abs_shap", ascending=False, ignore_index=True)
    figure = plot_importance(importance.set_index("feature")["mean_abs_shap"])
    return importance, figure
