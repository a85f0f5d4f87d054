"""SHAP figures for analysts: global summary, dependence, one account's waterfall.

All read an :class:`~churn_pipeline.models.Explanation` (contributions in
log-odds, one-hot columns folded back to their feature) and the explained rows.
The global views (summary, importance) speak in named drivers, the features that
carry one signal summed (:meth:`Explanation.by_driver`), since overlapping
features split and cancel each other's SHAP values; dependence and waterfall
stay per feature.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from churn_pipeline.features.specs import Driver
from churn_pipeline.models import Explanation, driver_groups

_SEED = 0  # jitter of the summary plot's dots: same data, same picture
# One colour per driver theme in the importance chart (7 themes).
_THEME_COLOURS = (
    "tab:red",
    "tab:orange",
    "tab:purple",
    "tab:green",
    "tab:blue",
    "tab:brown",
    "tab:grey",
)


def top_features(explanation: Explanation, n: int) -> list[str]:
    """The ``n`` columns with the largest mean |SHAP|, largest first.

    Columns are features, or drivers of :meth:`Explanation.by_driver`.
    """
    importance = explanation.contributions.abs().mean()
    return list(importance.sort_values(ascending=False, kind="stable").index[:n])


def _colour_values(values: pd.Series) -> np.ndarray:
    """Numeric values as ranks in [0, 1] (NaN stays NaN); categories as codes."""
    if not pd.api.types.is_numeric_dtype(values):
        codes = pd.Series(pd.Categorical(values).codes, index=values.index)
        values = codes.where(codes >= 0)
    return values.rank(pct=True).to_numpy(dtype=float)


def _primary_column(driver: Driver, members: list[str]) -> str:
    """The column that stands for a driver: its primary feature if present.

    Else its first feature (a key feature's own counts may be absent).
    """
    return driver.primary if driver.primary in members else members[0]


def plot_shap_summary(
    explanation: Explanation, features: pd.DataFrame, *, n_drivers: int = 15
) -> Figure:
    """Beeswarm-style summary by driver: each dot an account.

    A dot is the account's driver contribution (its features' SHAP values
    summed); its colour is the rank of the driver's primary feature (named in
    brackets), e.g. ``logins_30d`` for logins.

    Args:
        explanation: SHAP contributions of ``features``' rows, per feature.
        features: The explained rows (same order).
        n_drivers: How many drivers to show, most important on top.

    Returns:
        The figure.
    """
    by_driver = explanation.by_driver()
    groups = driver_groups(tuple(explanation.contributions.columns))
    names = top_features(by_driver, n_drivers)
    figure = Figure(figsize=(8.5, 0.9 + 0.38 * len(names)))
    axis = figure.subplots()
    rows = features.reset_index(drop=True)
    contributions = by_driver.contributions.reset_index(drop=True)
    rng = np.random.default_rng(_SEED)
    labels, scatter = [], None
    for position, name in enumerate(reversed(names)):
        k = groups.names.index(name)
        members = [groups.columns[j] for j in groups.features_of(k)]
        primary = _primary_column(groups.drivers[k], members)
        labels.append(f"{groups.drivers[k].label} ({primary})")
        scatter = _swarm_row(
            axis,
            contributions[name].to_numpy(dtype=float),
            _colour_values(rows[primary]),
            position,
            rng,
        )
    axis.axvline(0.0, color="grey", linewidth=0.8)
    axis.set_yticks(range(len(names)), labels)
    axis.set_xlabel(
        "driver contribution to churn risk (its features' SHAP summed, log-odds); "
        "right = riskier",
        fontsize=9,
    )
    axis.set_title("What drives churn risk: one dot per scored account")
    if scatter is not None:
        bar = figure.colorbar(scatter, ax=axis, ticks=[0.0, 1.0], pad=0.01)
        bar.ax.set_yticklabels(["low", "high"])
        bar.set_label("value of the feature in brackets (rank; grey = unknown)")
    figure.tight_layout()
    return figure


def _swarm_row(
    axis: Axes,
    shap_values: np.ndarray,
    colour: np.ndarray,
    position: int,
    rng: np.random.Generator,
) -> PathCollection:
    """One row of the summary: jittered dots, grey where the colour is unknown."""
    jitter = rng.uniform(-0.3, 0.3, size=len(shap_values))
    known = ~np.isnan(colour)
    axis.scatter(
        shap_values[~known],
        position + jitter[~known],
        s=6,
        color="lightgrey",
        alpha=0.7,
    )
    return axis.scatter(
        shap_values[known],
        position + jitter[known],
        c=colour[known],
        cmap="coolwarm",
        vmin=0.0,
        vmax=1.0,
        s=6,
        alpha=0.7,
    )


def plot_driver_importance(importance: pd.DataFrame, *, top_n: int = 15) -> Figure:
    """Horizontal bars of mean |driver contribution|, largest on top.

    Args:
        importance: One row per driver with ``label``, ``theme`` and
            ``mean_abs_shap`` (see the explanation pipeline's table).
        top_n: How many drivers to show.

    Returns:
        The figure; bars are coloured by theme (the playbook action it calls for).
    """
    shown = importance.sort_values("mean_abs_shap", kind="stable").tail(top_n)
    themes = list(dict.fromkeys(importance["theme"]))
    palette = dict(zip(themes, _THEME_COLOURS, strict=False))
    figure = Figure(figsize=(7.5, 0.35 * len(shown) + 1.4))
    axis = figure.subplots()
    axis.barh(
        shown["label"],
        shown["mean_abs_shap"],
        color=[palette.get(t, "tab:grey") for t in shown["theme"]],
    )
    handles = [Patch(color=palette[t], label=t) for t in themes if t in palette]
    axis.legend(handles=handles, title="theme", fontsize=8, loc="lower right")
    axis.set_xlabel(
        "mean |driver contribution| (its features' SHAP summed, log-odds of churn)"
    )
    axis.set_title("What drives churn risk (scored accounts), by driver")
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
