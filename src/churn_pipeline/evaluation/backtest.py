"""Judging churn scores: metrics of one test slice and a rolling-origin backtest."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from churn_pipeline.evaluation.calibration import expected_calibration_error
from churn_pipeline.evaluation.economics import RetentionEconomics
from churn_pipeline.evaluation.profit import empc, mpc
from churn_pipeline.evaluation.ranking import lift_score
from churn_pipeline.evaluation.snapshots import (
    Snapshots,
    training_sample,
    weights_of,
)
from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.models.baseline import BASELINE, fit_baseline, single_member
from churn_pipeline.models.batches import ENSEMBLE, scores_by_model

logger = logging.getLogger(__name__)

# What a backtest reports for every model, in this order.
BACKTEST_METRICS = (
    "roc_auc",
    "pr_auc",
    "top_decile_lift",
    "empc",
    "mpc",
    "brier",
    "ece",
)


def score_metrics(
    y_true: np.ndarray, probability: np.ndarray, profit: Mapping[str, Any]
) -> dict[str, float]:
    """Ranking, calibration and profit metrics of one scorer.

    Args:
        y_true: Binary labels.
        probability: Churn probabilities (or any score, for the ranking metrics).
        profit: ``profit`` parameters (CLV, costs, Beta(alpha, beta), accept rate).

    Returns:
        Metric name (without prefix) to value.
    """
    economics = RetentionEconomics.from_params(profit)
    expected = empc(y_true, probability, economics)
    return {
        "roc_auc": float(roc_auc_score(y_true, probability)),
        "pr_auc": float(average_precision_score(y_true, probability)),
        "brier": float(brier_score_loss(y_true, probability)),
        "ece": expected_calibration_error(y_true, probability),
        "top_decile_lift": lift_score(y_true, probability, fraction=0.1),
        "empc": expected.profit,
        "empc_optimal_fraction": expected.rate,
        "mpc": mpc(y_true, probability, economics).profit,
    }


def backtest_origins(as_of_dates: pd.Series, n_origins: int) -> list[pd.Timestamp]:
    """The newest ``n_origins`` as-of dates, oldest first.

    Raises:
        ValueError: If ``n_origins`` is below 1 or there are not more dates than
            origins (the oldest origin needs history to train on).
    """
    if n_origins < 1:
        raise ValueError(f"n_origins must be >= 1, got {n_origins}")
    dates = sorted(pd.to_datetime(as_of_dates).unique())
    if len(dates) <= n_origins:
        raise ValueError(
            f"A backtest over n_origins={n_origins} needs more labelled as-of "
            f"dates than that, got {len(dates)}"
        )
    return [pd.Timestamp(d) for d in dates[-n_origins:]]


def rolling_origin_backtest(
    labelled: pd.DataFrame | Snapshots,
    model: ChurnEnsemble,
    *,
    n_origins: int,
    horizon_days: int,
    profit: Mapping[str, Any],
    max_training_rows: int | None = None,
) -> pd.DataFrame:
    """Refit ``model`` and the baseline before each origin and judge them there.

    At each of the newest ``n_origins`` as-of dates, a fresh copy of the model
    and a default-settings XGBoost (:mod:`churn_pipeline.models.baseline`, on
    the ensemble's features) are fitted on the rows whose label window closes
    by that date (so no label from the origin or later is seen) and scored on
    every row of the origin. Each origin's rows are read on their own
    (:class:`~churn_pipeline.evaluation.snapshots.Snapshots`), so the whole
    table is never in memory.

    Args:
        labelled: Labelled snapshots (``as_of_date``, ``label``, features), as
            a frame or a :class:`Snapshots` over the model input file.
        model: The unfitted model to refit at each origin.
        n_origins: How many of the newest as-of dates to test on.
        horizon_days: Label horizon in days.
        profit: ``profit`` parameters.
        max_training_rows: Above this many training rows, the fits use a
            weighted sample (churners kept first: see ``class_shares``); ``None``
            fits on every row. Metrics always use every origin row.

    Returns:
        One row per origin and model (``ensemble``, each member and
        ``baseline_xgboost``): ``origin``, ``model``, ``train_rows`` (rows whose
        labels are known), ``fit_rows`` (those fitted on, after sampling),
        ``test_rows``, ``churn_rate``, the metrics of ``BACKTEST_METRICS`` and
        ``single_member`` (the member the origin's fitted blend gives all the
        weight, else empty; the same on every row of the origin).
    """
    source = labelled if isinstance(labelled, Snapshots) else Snapshots(labelled)
    counts = source.label_counts()
    origins = backtest_origins(counts["as_of_date"], n_origins)
    columns = _model_columns(model)
    frames = []
    for step, origin in enumerate(origins, start=1):
        last = origin - pd.Timedelta(days=horizon_days)
        train_rows = int(counts.loc[counts["as_of_date"] <= last, "rows"].sum())
        train = training_sample(
            source,
            last=last,
            max_rows=max_training_rows,
            seed=model.random_state,
            columns=columns,
            what=f"backtest origin {origin.date()} training",
        )
        test = source.read(first=origin, last=origin, columns=columns, float32=True)
        frame = _judge_origin(train, test, model, profit).assign(
            origin=origin, train_rows=train_rows
        )
        by_model = frame.set_index("model")
        logger.info(
            "Backtest origin %d/%d (%s): trained on %d of %d rows, ensemble "
            "EMPC %.3f (baseline %.3f), ROC AUC %.3f (baseline %.3f) on %d rows",
            step,
            len(origins),
            origin.date(),
            len(train),
            train_rows,
            by_model.loc[ENSEMBLE, "empc"],
            by_model.loc[BASELINE, "empc"],
            by_model.loc[ENSEMBLE, "roc_auc"],
            by_model.loc[BASELINE, "roc_auc"],
            len(test),
        )
        frames.append(frame)
    head = ["origin", "model", "train_rows", "fit_rows", "test_rows", "churn_rate"]
    results = pd.concat(frames, ignore_index=True)
    return results[[*head, *BACKTEST_METRICS, "single_member"]]


def _model_columns(model: ChurnEnsemble) -> list[str] | None:
    """The columns a fit needs: the configured features (``None``: all)."""
    if model.numeric_features is None or model.categorical_features is None:
        return None
    return [*model.numeric_features, *model.categorical_features]


def _judge_origin(
    train: pd.DataFrame,
    test: pd.DataFrame,
    model: ChurnEnsemble,
    profit: Mapping[str, Any],
) -> pd.DataFrame:
    """Fit the ensemble and the baseline on ``train``; one row per model on ``test``."""
    weight = weights_of(train)
    fitted = clone(model).fit(
        train, train["label"], periods=train["as_of_date"], sample_weight=weight
    )
    # The baseline sees every training row: it has no calibration slice.
    baseline = fit_baseline(
        fitted.numeric_features_,
        fitted.categorical_features_,
        train,
        train["label"],
        sample_weight=weight,
        random_state=model.random_state,
    )
    y_true = test["label"].to_numpy(dtype=int)
    scores = scores_by_model(fitted, test, baseline.predict_proba)
    only = single_member(fitted.weights_)
    return pd.DataFrame(
        [
            {
                "model": name,
                "fit_rows": len(train),
                "test_rows": len(test),
                "churn_rate": float(y_true.mean()),
                **{
                    metric: value
                    for metric, value in score_metrics(y_true, score, profit).items()
                    if metric in BACKTEST_METRICS
                },
                "single_member": only or "",
            }
            for name, score in scores.items()
        ]
    )


def single_member_share(results: pd.DataFrame) -> tuple[float, list[str]]:
    """How often the backtest's fitted blend was one member alone, and which.

    Args:
        results: Output of :func:`rolling_origin_backtest`.

    Returns:
        The share of origins whose blend gave one member all the weight, and
        those members (sorted, each once).
    """
    per_origin = results.groupby("origin")["single_member"].first().fillna("")
    members = sorted({name for name in per_origin if name})
    return float((per_origin != "").mean()), members


def summarise_backtest(
    results: pd.DataFrame, metrics: Sequence[str] = BACKTEST_METRICS
) -> pd.DataFrame:
    """Mean and sample standard deviation of each metric, one row per model.

    Args:
        results: Output of :func:`rolling_origin_backtest`.
        metrics: Metric columns to summarise.

    Returns:
        Index ``model`` (ensemble first, then the baseline, then the
        members), columns ``<metric>_mean`` and ``<metric>_sd`` (``ddof=1``;
        0 with a single origin).
    """
    grouped = results.groupby("model", sort=False)[list(metrics)]
    means = grouped.mean().add_suffix("_mean")
    sds = grouped.std(ddof=1).fillna(0.0).add_suffix("_sd")
    columns = [f"{m}_{s}" for m in metrics for s in ("mean", "sd")]
    summary = means.join(sds)[columns]
    order = [ENSEMBLE, BASELINE, *sorted(set(summary.index) - {ENSEMBLE, BASELINE})]
    return summary.reindex([m for m in order if m in summary.index])


def comparison_markdown(summary: pd.DataFrame) -> str:
    """The backtest summary as a markdown table of ``mean ± sd`` per metric."""
    metrics = [c.removesuffix("_mean") for c in summary.columns if c.endswith("_mean")]
    lines = [
        "| model | " + " | ".join(metrics) + " |",
        "|---|" + "---|" * len(metrics),
    ]
    for model, row in summary.iterrows():
        cells = [f"{row[f'{m}_mean']:.4f} ± {row[f'{m}_sd']:.4f}" for m in metrics]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
