"""Figures: ROC, profit, gains and lift, reliability, scores, backtest, SHAP."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # headless: pipelines and CI have no display

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_auc_score, roc_curve

from churn_pipeline.evaluation.backtest import BACKTEST_METRICS
from churn_pipeline.evaluation.checks import check_inputs, check_unit_interval
from churn_pipeline.evaluation.economics import RetentionEconomics
from churn_pipeline.evaluation.profit import profit_curve
from churn_pipeline.evaluation.ranking import cumulative_gains


def plot_roc(y_true: np.ndarray, scores: Mapping[str, np.ndarray]) -> Figure:
    """ROC curves of several scorers on the same labels."""
    figure, axis = plt.subplots(figsize=(6, 5))
    for name, score in scores.items():
        fpr, tpr, _ = roc_curve(y_true, score)
        axis.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(y_true, score):.3f})")
    axis.plot([0, 1], [0, 1], linestyle=":", color="grey", label="random")
    axis.set(xlabel="False positive rate", ylabel="True positive rate")
    axis.set_title("ROC, out-of-time test set")
    axis.legend(loc="lower right")
    figure.tight_layout()
    return figure


def plot_profit_curve(
    y_true: np.ndarray,
    score: np.ndarray,
    economics: RetentionEconomics,
    *,
    empc_rate: float,
) -> Figure:
    """Campaign profit per customer vs fraction targeted, optima marked."""
    fraction, profit = profit_curve(y_true, score, economics)
    accept_rate = economics.accept_rate
    best = int(np.argmax(profit))
    figure, axis = plt.subplots(figsize=(6, 5))
    axis.plot(fraction, profit, label=f"profit at accept rate {accept_rate:.2f}")
    axis.scatter(
        [fraction[best]],
        [profit[best]],
        color="red",
        zorder=3,
        label=f"MPC optimum: target {fraction[best]:.1%}",
    )
    axis.axvline(
        empc_rate, linestyle="--", color="green", label=f"EMPC fraction {empc_rate:.1%}"
    )
    axis.axhline(0, color="grey", linewidth=0.8)
    axis.set(xlabel="Fraction of customers targeted", ylabel="Profit per customer")
    axis.set_title("Retention campaign profit, out-of-time test set")
    axis.legend(loc="best")
    figure.tight_layout()
    return figure


def plot_reliability(
    y_true: np.ndarray, probability: np.ndarray, *, n_bins: int = 10
) -> Figure:
    """Reliability diagram (quantile bins) with the score histogram below."""
    observed, predicted = calibration_curve(
        y_true, probability, n_bins=n_bins, strategy="quantile"
    )
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(6, 6), height_ratios=[3, 1], sharex=True
    )
    limit = max(float(predicted.max()), float(observed.max())) * 1.05
    top.plot([0, limit], [0, limit], linestyle=":", color="grey", label="perfect")
    top.plot(predicted, observed, marker="o", label="ensemble")
    top.set(ylabel="Observed churn rate")
    top.set_title("Calibration, out-of-time test set")
    top.legend(loc="upper left")
    bottom.hist(probability, bins=40, color="tab:blue", alpha=0.7)
    bottom.set(xlabel="Predicted churn probability", ylabel="Accounts")
    figure.tight_layout()
    return figure


def plot_gains_and_lift(y_true: np.ndarray, scores: Mapping[str, np.ndarray]) -> Figure:
    """Cumulative gains (left) and lift (right) vs share of accounts targeted.

    Args:
        y_true: Churn labels, 1 = churner; both classes must be present.
        scores: Scores per scorer name, higher = more likely to churn.

    Returns:
        A figure with two axes: gains (with random and perfect-model curves) and
        lift (with the random level 1).

    Raises:
        ValueError: If ``scores`` is empty, or labels or scores are invalid.

    """
    if not scores:
        raise ValueError("scores must hold at least one scorer")
    figure = Figure(figsize=(11, 5))
    gains_axis, lift_axis = figure.subplots(1, 2)
    churn_rate = 0.0
    for name, score in scores.items():
        y, s = check_inputs(y_true, score, score_name=f"scores[{name!r}]")
        churn_rate = float(y.mean())
        fraction, captured = cumulative_gains(y, s)
        gains_axis.plot(fraction, captured, label=name)
        # Skip (0, 0): lift is undefined when no one is targeted.
        lift_axis.plot(fraction[1:], captured[1:] / fraction[1:], label=name)
    gains_axis.plot([0, 1], [0, 1], linestyle=":", color="grey", label="random")
    gains_axis.plot(
        [0, churn_rate, 1], [0, 1, 1], linestyle="--", color="black", label="perfect"
    )
    gains_axis.set(
        xlabel="Share of accounts targeted",
        ylabel="Share of churners caught",
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    gains_axis.set_title("Cumulative gains")
    gains_axis.legend(loc="lower right")
    lift_axis.axhline(1, linestyle=":", color="grey", label="random")
    lift_axis.set(xlabel="Share of accounts targeted", ylabel="Lift", xlim=(0, 1))
    lift_axis.set_title("Lift")
    lift_axis.legend(loc="upper right")
    figure.tight_layout()
    return figure


def plot_score_distributions(
    y_true: np.ndarray, probability: np.ndarray, *, bins: int = 40
) -> Figure:
    """Density histograms of the predicted churn probability per class.

    Args:
        y_true: Churn labels, 1 = churner; both classes must be present.
        probability: Predicted churn probabilities in [0, 1].
        bins: Number of bins shared by both classes over [0, max probability].

    Returns:
        A figure with one axis; the legend gives the number of accounts per class.

    Raises:
        ValueError: If labels or probabilities are invalid, or ``bins < 1``.

    """
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer):
        raise TypeError(f"bins must be an int, got {bins!r}")
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins!r}")
    y, p = check_inputs(y_true, probability, score_name="probability")
    check_unit_interval("probability", p)
    upper = float(p.max()) or 1.0
    edges = np.linspace(0.0, upper, bins + 1)
    figure = Figure(figsize=(7, 4.5))
    axis = figure.subplots()
    for label, name, color in (
        (0, "non-churners", "tab:blue"),
        (1, "churners", "tab:red"),
    ):
        values = p[y == label]
        axis.hist(
            values,
            bins=edges,
            density=True,
            alpha=0.5,
            color=color,
            label=f"{name} ({label}), n={values.size:,}",
        )
    axis.set(xlabel="Predicted churn probability", ylabel="Density")
    axis.set_title("Score distribution by outcome")
    axis.legend(loc="upper right")
    figure.tight_layout()
    return figure


def plot_backtest(
    table: pd.DataFrame, metrics: Sequence[str] = ("roc_auc", "empc", "brier")
) -> Figure:
    """Rolling-origin backtest: one panel per metric, one line per model.

    Args:
        table: One row per ``(origin, model)`` with columns ``origin`` (datetime64),
            ``model`` (str) and one float column per metric.
        metrics: Metrics to draw, among :data:`BACKTEST_METRICS`.

    Returns:
        A figure with one axis per metric, stacked and sharing the time axis; the
        ensemble is drawn thicker.

    Raises:
        ValueError: On no or unknown metrics, an empty table, missing columns, a
            non-datetime ``origin`` or a repeated ``(origin, model)`` pair.

    """
    wanted = [metrics] if isinstance(metrics, str) else list(metrics)
    if not wanted:
        raise ValueError(f"metrics must not be empty; choose from {BACKTEST_METRICS}")
    unknown = [metric for metric in wanted if metric not in BACKTEST_METRICS]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; allowed: {BACKTEST_METRICS}")
    if table.empty:
        raise ValueError("backtest table is empty")
    missing = [c for c in ("origin", "model", *wanted) if c not in table.columns]
    if missing:
        raise ValueError(
            f"backtest table lacks columns {missing}; available: {list(table.columns)}"
        )
    if not pd.api.types.is_datetime64_any_dtype(table["origin"]):
        raise ValueError(f"origin must be datetime64, got {table['origin'].dtype}")
    repeated = table.duplicated(["origin", "model"])
    if repeated.any():
        first = table.loc[repeated, ["origin", "model"]].iloc[0].tolist()
        raise ValueError(f"repeated (origin, model) rows, e.g. {first}")

    # The ensemble last, so it is drawn on top.
    models = sorted(table["model"].unique(), key=lambda m: (m == "ensemble", m))
    figure = Figure(figsize=(8, 2.4 * len(wanted) + 0.8))
    axes = figure.subplots(len(wanted), 1, sharex=True, squeeze=False)[:, 0]
    for axis, metric in zip(axes, wanted, strict=True):
        for model in models:
            rows = table[table["model"] == model].sort_values("origin")
            axis.plot(
                rows["origin"].to_numpy(),
                rows[metric].to_numpy(dtype=float),
                marker="o",
                linewidth=3.0 if model == "ensemble" else 1.2,
                label=model,
            )
        axis.set(ylabel=metric)
        axis.grid(alpha=0.3)
    axes[0].set_title("Rolling-origin backtest")
    axes[0].legend(loc="best")
    axes[-1].set(xlabel="Origin (as-of date)")
    figure.autofmt_xdate()
    figure.tight_layout()
    return figure
