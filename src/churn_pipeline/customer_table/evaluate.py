"""Nested cross-validation of the ensemble beside a default-XGBoost baseline.

Every outer fold tunes the tree members on its training rows only (inner
folds), fits the ensemble with the tuned arguments, fits the baseline on the
same rows, and scores all of them on the fold's unseen test rows. The final
model is tuned and fitted the same way on every row.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from churn_pipeline.config.customer_table import CustomerTableParameters
from churn_pipeline.customer_table.folds import (
    GROUP,
    duplicate_groups,
    stratified_splits,
)
from churn_pipeline.evaluation.backtest import score_metrics
from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.models.baseline import BASELINE, default_xgboost, single_member
from churn_pipeline.models.batches import ENSEMBLE
from churn_pipeline.models.tuning import tune_members_cv
from churn_pipeline.pipelines.model_training.nodes import build_ensemble

logger = logging.getLogger(__name__)

Tuned = dict[str, dict[str, Any]]
# Trials fit small inner folds on one thread each: there, a second OpenMP thread
# costs more in synchronisation than it gains, and on a busy 2-core machine far
# more (one Telco-sized XGBoost fit: 0.5 s CPU on one thread, 6.9 s on two).
# Only the searched arguments are returned, so the final fits keep their own.
_TRIAL_THREADS = {"xgboost": {"n_jobs": 1}, "lightgbm": {"n_jobs": 1}}


def features(settings: CustomerTableParameters) -> list[str]:
    """The model's feature columns: numeric, then categorical."""
    return [*settings.numeric_columns, *settings.categorical_columns]


def fold_groups(
    customers: pd.DataFrame, settings: CustomerTableParameters
) -> np.ndarray | None:
    """Duplicate groups when ``duplicates`` is ``group``; else no grouping."""
    if settings.duplicates != GROUP:
        return None
    return duplicate_groups(customers, [*features(settings), "label"])


def customer_ensemble(
    settings: CustomerTableParameters, training: Mapping[str, Any], tuned: Tuned
) -> ChurnEnsemble:
    """The unfitted ensemble: configured members, tuned arguments on top."""
    members = {
        name: {**(member or {}), **tuned.get(name, {})}
        for name, member in training["members"].items()
    }
    return build_ensemble(
        list(settings.numeric_columns),
        list(settings.categorical_columns),
        {**training, "members": members},
    )


def tune_customer_members(
    rows: pd.DataFrame,
    groups: np.ndarray | None,
    settings: CustomerTableParameters,
    training: Mapping[str, Any],
    profit: Mapping[str, Any],
) -> Tuned:
    """Tune the members in ``model_training.tuning.search_space`` on ``rows``.

    Inner stratified folds (grouped like the outer ones) of ``rows`` only; the
    trial budget is ``customer_table.tuning``. No trials: ``{}``.
    """
    search_space = training.get("tuning", {}).get("search_space", {})
    n_trials = settings.tuning.n_trials
    if n_trials == 0 or not search_space:
        return {}
    y = rows["label"].to_numpy(dtype=int)
    splits = list(
        stratified_splits(
            y,
            settings.tuning.inner_folds,
            groups=groups,
            random_state=training["random_state"],
        )
    )
    return tune_members_cv(
        rows,
        y,
        customer_ensemble(settings, training, _TRIAL_THREADS),
        search_space=search_space,
        n_trials=n_trials,
        splits=splits,
        profit=profit,
    )


def _score_fold(
    customers: pd.DataFrame,
    train: np.ndarray,
    test: np.ndarray,
    groups: np.ndarray | None,
    settings: CustomerTableParameters,
    training: Mapping[str, Any],
    profit: Mapping[str, Any],
) -> tuple[dict[str, dict[str, float]], str | None, Tuned]:
    """Tune, fit and score one outer fold: metrics per model, lone member."""
    rows, unseen = customers.iloc[train], customers.iloc[test]
    y_fit = rows["label"].to_numpy(dtype=int)
    y_test = unseen["label"].to_numpy(dtype=int)
    inner_groups = None if groups is None else groups[train]
    tuned = tune_customer_members(rows, inner_groups, settings, training, profit)
    model = customer_ensemble(settings, training, tuned).fit(rows, y_fit)
    columns = features(settings)
    baseline = default_xgboost(
        settings.numeric_columns,
        settings.categorical_columns,
        random_state=training["random_state"],
    ).fit(rows[columns], y_fit)
    scores = {
        ENSEMBLE: model.predict_proba(unseen)[:, 1],
        **model.member_probabilities(unseen),
        BASELINE: baseline.predict_proba(unseen[columns])[:, 1],
    }
    metrics = {name: score_metrics(y_test, s, profit) for name, s in scores.items()}
    return metrics, single_member(model.weights_), tuned


def _summarise(per_fold: list[dict[str, dict[str, float]]]) -> dict[str, float]:
    """``<prefix><metric>_{mean,sd}`` over folds; the ensemble's prefix is ``cv_``."""
    summary: dict[str, float] = {}
    for name in per_fold[0]:
        prefix = "cv_" if name == ENSEMBLE else f"{name}_cv_"
        for metric in per_fold[0][name]:
            values = [fold[name][metric] for fold in per_fold]
            summary[f"{prefix}{metric}_mean"] = float(np.mean(values))
            summary[f"{prefix}{metric}_sd"] = float(np.std(values, ddof=1))
    return summary


def _log_comparison(metrics: Mapping[str, float], lone: list[str | None]) -> None:
    logger.info(
        "Cross-validated ensemble vs default XGBoost on the same folds: ROC AUC "
        "%.3f +/- %.3f vs %.3f +/- %.3f, EMPC %.3f +/- %.3f vs %.3f +/- %.3f",
        *(
            metrics[f"{prefix}{metric}_{stat}"]
            for metric in ("roc_auc", "empc")
            for prefix in ("cv_", f"{BASELINE}_cv_")
            for stat in ("mean", "sd")
        ),
    )
    alone = sorted({name for name in lone if name is not None})
    if alone:
        logger.warning(
            "The ensemble is one member alone in %d of %d folds (%s): the blend "
            "gives it all the weight, so the others add nothing there",
            sum(name is not None for name in lone),
            len(lone),
            ", ".join(alone),
        )


def cross_validate_customers(
    customers: pd.DataFrame,
    settings: CustomerTableParameters,
    training: Mapping[str, Any],
    profit: Mapping[str, Any],
) -> dict[str, float]:
    """Nested stratified k-fold metrics of the ensemble, its members and the baseline.

    Args:
        customers: Prepared customers (``account_id``, features, ``label``).
        settings: ``customer_table`` parameters (folds, duplicates, tuning).
        training: ``model_training`` parameters (members, search space, seed).
        profit: ``profit`` parameters.

    Returns:
        ``cv_folds``, ``cv_<metric>_{mean,sd}`` (ensemble),
        ``<member>_cv_<metric>_{mean,sd}``, ``baseline_xgboost_cv_<metric>_...``
        and ``ensemble_single_member_share``.
    """
    y = customers["label"].to_numpy(dtype=int)
    groups = fold_groups(customers, settings)
    n_folds = settings.cv_folds
    per_fold, lone = [], []
    seed = training["random_state"]
    folds = stratified_splits(y, n_folds, groups=groups, random_state=seed)
    for fold, (train, test) in enumerate(folds, start=1):
        metrics, alone, tuned = _score_fold(
            customers, train, test, groups, settings, training, profit
        )
        per_fold.append(metrics)
        lone.append(alone)
        logger.info(
            "Fold %d/%d: ROC AUC %.3f, EMPC %.3f (default XGBoost %.3f, %.3f); "
            "tuned %s",
            fold,
            n_folds,
            metrics[ENSEMBLE]["roc_auc"],
            metrics[ENSEMBLE]["empc"],
            metrics[BASELINE]["roc_auc"],
            metrics[BASELINE]["empc"],
            tuned or "nothing",
        )
    summary = {"cv_folds": float(n_folds), **_summarise(per_fold)}
    summary["ensemble_single_member_share"] = float(
        np.mean([name is not None for name in lone])
    )
    _log_comparison(summary, lone)
    return summary
