"""Figures: ROC, profit vs fraction targeted, reliability, SHAP importance."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")  # headless: pipelines and CI have no display

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_auc_score, roc_curve

from churn_pipeline.metrics import profit_curve


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
    *,
    clv: float,
    incentive_cost: float,
    contact_cost: float,
    accept_rate: float,
    empc_rate: float,
) -> Figure:
    """Campaign profit per customer vs fraction targeted, optima marked."""
    fraction, profit = profit_curve(
        y_true,
        score,
        clv=clv,
        incentive_cost=incentive_cost,
        contact_cost=contact_cost,
        accept_rate=accept_rate,
    )
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


def plot_importance(importance: pd.Series, *, top_n: int = 15) -> Figure:
    """Horizontal bars of mean |SHAP| per feature, largest on top."""
    shown = importance.sort_values(ascending=True).tail(top_n)
    figure, axis = plt.subplots(figsize=(7, 0.35 * len(shown) + 1.2))
    axis.barh(shown.index, shown.to_numpy(), color="tab:red")
    axis.set(xlabel="Mean |SHAP value| (log-odds of churn)")
    axis.set_title("What drives churn risk (scored accounts)")
    figure.tight_layout()
    return figure
