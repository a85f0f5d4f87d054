"""SHAP figures for analysts: global summary, dependence, one account's waterfall.

All read an :class:`~churn_pipeline.models.Explanation` (contributions in
log-odds, one-hot columns folded back to their feature) and the explained rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from churn_pipeline.models import Explanation

_SEED = 0  # jitter of the summary plot's dots: same data, same picture


def top_features(explanation: Explanation, n: int) -> list[str]:
    """The ``n`` features with the largest mean |SHAP|, largest first."""
    importance = explanation.contributions.abs().mean()
    return list(importance.sort_values(ascending=False, kind="stable").index[:n])


def _colour_values(values: pd.Series) -> np.ndarray:
    """Numeric values as ranks in [0, 1] (NaN stays NaN); categories as codes."""
    if not pd.api.types.is_numeric_dtype(values):
        codes = pd.Series(pd.Categorical(values).codes, index=values.index)
        values = codes.where(codes >= 0)
    return values.rank(pct=True).to_numpy(dtype=float)


def plot_shap_summary(
    explanation: Explanation, features: pd.DataFrame, *, n_features: int = 15
) -> Figure:
    """Beeswarm-style summary: each dot an account, coloured by its value.

    Args:
        explanation: SHAP contributions of ``features``' rows.
        features: The explained rows (same order).
        n_features: How many features to show, most important on top.

    Returns:
        The figure.
    """
    names = top_features(explanation, n_features)
    rng = np.random.default_rng(_SEED)
    height = 0.9 + 0.38 * len(names)
    figure = Figure(figsize=(8, height))
    axis = figure.subplots()
    rows = features.reset_index(drop=True)
    contributions = explanation.contributions.reset_index(drop=True)
    scatter = None
    for position, name in enumerate(reversed(names)):
        shap_values = contributions[name].to_numpy(dtype=float)
        colour = _colour_values(rows[name])
        jitter = rng.uniform(-0.3, 0.3, size=len(shap_values))
        known = ~np.isnan(colour)
        axis.scatter(
            shap_values[~known],
            position + jitter[~known],
            s=6,
            color="lightgrey",
            alpha=0.7,
        )
        scatter = axis.scatter(
            shap_values[known],
            position + jitter[known],
            c=colour[known],
            cmap="coolwarm",
            vmin=0.0,
            vmax=1.0,
            s=6,
            alpha=0.7,
        )
    axis.axvline(0.0, color="grey", linewidth=0.8)
    axis.set_yticks(range(len(names)), list(reversed(names)))
    axis.set_xlabel("SHAP contribution to churn risk (log-odds); right = riskier")
    axis.set_title("What drives churn risk: one dot per scored account")
    if scatter is not None:
        bar = figure.colorbar(scatter, ax=axis, ticks=[0.0, 1.0], pad=0.01)
        bar.ax.set_yticklabels(["low", "high"])
        bar.set_label("feature value (rank; grey = unknown)")
    figure.tight_layout()
    return figure


def plot_dependence(
    explanation: Explanation, features: pd.DataFrame, names: list[str]
) -> Figure:
    """One panel per feature: its value against its SHAP contribution.

    Args:
        explanation: SHAP contributions of ``features``' rows.
        features: The explained rows (same order).
        names: Features to show (e.g. :func:`top_features`).

    Returns:
        The figure, two panels per row.
    """
    columns = 2
    n_rows = max(1, -(-len(names) // columns))
    figure = Figure(figsize=(10, 3.6 * n_rows))
    axes = np.atleast_1d(figure.subplots(n_rows, columns)).ravel()
    rows = features.reset_index(drop=True)
    contributions = explanation.contributions.reset_index(drop=True)
    for axis, name in zip(axes, names, strict=False):
        values, shap_values = rows[name], contributions[name]
        if pd.api.types.is_numeric_dtype(values):
            axis.scatter(values, shap_values, s=6, alpha=0.5)
        else:
            categories = sorted(values.dropna().unique())
            axis.boxplot(
                [shap_values[values == c].to_numpy() for c in categories],
                tick_labels=categories,
                showfliers=False,
            )
        axis.axhline(0.0, color="grey", linewidth=0.8)
        axis.set(xlabel=name, ylabel="SHAP (log-odds)")
        axis.set_title(f"{name}: effect on churn risk")
    for axis in axes[len(names) :]:
        axis.set_visible(False)
    figure.tight_layout()
    return figure


def plot_waterfall(
    explanation: Explanation,
    features: pd.DataFrame,
    row: int,
    *,
    n_features: int = 10,
) -> Figure:
    """How one account's score builds up from the average account's.

    Args:
        explanation: SHAP contributions of ``features``' rows.
        features: The explained rows (same order).
        row: Position of the account in ``features``.
        n_features: Features shown one by one; the rest are summed in one bar.

    Returns:
        The figure: bars from the base value to the account's score (log-odds).
    """
    contributions = explanation.contributions.iloc[row]
    values = features.iloc[row]
    order = contributions.abs().sort_values(ascending=False, kind="stable").index
    shown = list(order[:n_features])
    rest = float(contributions[order[n_features:]].sum())
    labels = [f"{name} = {_short(values[name])}" for name in shown]
    steps = [float(contributions[name]) for name in shown]
    if len(order) > n_features:
        labels.append(f"{len(order) - n_features} other features")
        steps.append(rest)
    starts = explanation.base_value + np.concatenate([[0.0], np.cumsum(steps)[:-1]])
    figure = Figure(figsize=(8, 0.9 + 0.4 * len(steps)))
    axis = figure.subplots()
    positions = np.arange(len(steps))[::-1]
    axis.barh(
        positions,
        steps,
        left=starts,
        color=["tab:red" if s > 0 else "tab:blue" for s in steps],
    )
    axis.set_yticks(positions, labels)
    # barh's `left` does not widen the view: fit it to every bar's two ends.
    ends = np.concatenate([starts, starts + np.asarray(steps)])
    margin = 0.05 * max(float(np.ptp(ends)), 1e-9)
    axis.set_xlim(ends.min() - margin, ends.max() + margin)
    axis.axvline(explanation.base_value, color="grey", linestyle=":", linewidth=1)
    score = explanation.base_value + float(contributions.sum())
    axis.axvline(score, color="black", linewidth=1)
    axis.set_xlabel(
        f"log-odds: average account {explanation.base_value:.2f} -> "
        f"this account {score:.2f} (red raises risk)"
    )
    axis.set_title(f"Why account {values.get('account_id', row)} scores as it does")
    figure.tight_layout()
    return figure


def _short(value: object) -> str:
    if isinstance(value, float):
        return "unknown" if np.isnan(value) else f"{value:.3g}"
    return str(value)
