"""Explain the ensemble's scores of the accounts being scored."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from churn_pipeline.batching import row_batches
from churn_pipeline.models import (
    ChurnEnsemble,
    ChurnExplainer,
    Explanation,
    driver_groups,
)
from churn_pipeline.models.batches import BATCH_ROWS
from churn_pipeline.reporting.shap_plots import plot_driver_importance


def explain_scores(
    model: ChurnEnsemble, scoring: pd.DataFrame, batch_rows: int = BATCH_ROWS
) -> Explanation:
    """Exact SHAP contributions (log-odds) for every account being scored.

    Args:
        model: The fitted ensemble.
        scoring: Snapshots at the newest as-of date.
        batch_rows: Rows explained at a time.

    Returns:
        The explanation (rows align with ``scoring``), computed a batch of rows
        at a time (:mod:`churn_pipeline.batching`).
    """
    explainer = ChurnExplainer(model)
    batches = row_batches(len(scoring), batch_rows, progress="Explained")
    parts = [explainer.explain(scoring.iloc[rows]) for rows in batches]
    return Explanation(
        parts[0].base_value,
        pd.concat([part.contributions for part in parts]),
        parts[0].calibration_slope,
    )


def _importance(contributions: pd.DataFrame, key: str) -> pd.DataFrame:
    """Mean |SHAP| and mean SHAP per column, largest mean |SHAP| first."""
    return pd.DataFrame(
        {
            key: contributions.columns,
            "mean_abs_shap": contributions.abs().mean().to_numpy(),
            "mean_shap": contributions.mean().to_numpy(),
        }
    )


def summarise_importance(
    explanation: Explanation,
) -> tuple[pd.DataFrame, pd.DataFrame, Figure]:
    """Global importance per feature and per driver, and the drivers' bar chart.

    A driver's contribution is the sum of its features' (exact), so the driver
    table is what the scored list's reasons rank; the feature table is for
    analysts who want to look inside a driver.

    Args:
        explanation: SHAP contributions of the scored accounts.

    Returns:
        The feature table (``feature``, ``driver``, ``mean_abs_shap``,
        ``mean_shap``), the driver table (``driver``, ``label``, ``theme``,
        ``features``, ``mean_abs_shap``, ``mean_shap``), each largest mean
        |SHAP| first, and the chart of the driver table.
    """
    contributions = explanation.contributions
    groups = driver_groups(tuple(contributions.columns))
    features = _importance(contributions, "feature")
    features.insert(1, "driver", [groups.names[k] for k in groups.column_driver])
    drivers = _importance(explanation.by_driver().contributions, "driver")
    drivers.insert(1, "label", [d.label for d in groups.drivers])
    drivers.insert(2, "theme", [d.theme for d in groups.drivers])
    drivers.insert(
        3,
        "features",
        [
            ", ".join(groups.columns[j] for j in groups.features_of(k))
            for k in range(len(groups.drivers))
        ],
    )
    features, drivers = (
        table.sort_values(
            "mean_abs_shap", ascending=False, kind="stable", ignore_index=True
        )
        for table in (features, drivers)
    )
    return features, drivers, plot_driver_importance(drivers)
