"""The yardstick every run reports: XGBoost with its default settings.

An ensemble is worth its complexity only if it beats what a newcomer would try
first. The baseline sees the same rows, the same features and the same one-hot
encoding as the ensemble's tree members, but none of its choices: no tuned or
configured arguments, no monotone constraints, no class weights, no separate
calibration slice (it fits on every training row).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline
from xgboost import XGBClassifier

from churn_pipeline.models.preprocessing import make_preprocessor

logger = logging.getLogger(__name__)

BASELINE = "baseline_xgboost"
# Share of the blend above which the ensemble is, in effect, that one member.
SINGLE_MEMBER_WEIGHT = 0.999


def default_xgboost(
    numeric: Sequence[str], categorical: Sequence[str], *, random_state: int = 0
) -> Pipeline:
    """An unfitted default-settings XGBoost behind the tree members' encoding.

    Only the seed and the thread count (the project's two-thread default) are
    set; both leave the model's settings as the library ships them.

    Args:
        numeric: Numeric feature columns.
        categorical: Categorical feature columns.
        random_state: Seed, so a fixed seed gives the same baseline.

    Returns:
        A scikit-learn ``Pipeline`` with ``fit`` / ``predict_proba``.
    """
    return Pipeline(
        [
            ("preprocess", make_preprocessor("tree", numeric, categorical)),
            ("model", XGBClassifier(random_state=random_state, n_jobs=2)),
        ]
    )


def fit_baseline(
    numeric: Sequence[str],
    categorical: Sequence[str],
    X: Any,
    y: Any,
    *,
    sample_weight: np.ndarray | None = None,
    random_state: int = 0,
) -> Pipeline:
    """:func:`default_xgboost` fitted on ``X``, weighted like the ensemble's rows.

    The weights are the sampling weights of subsampled non-churners (not a
    setting): without them the baseline would see a churn rate the business
    does not have.

    Args:
        numeric: Numeric feature columns.
        categorical: Categorical feature columns.
        X: Training rows.
        y: Their labels.
        sample_weight: Weight per row, or ``None``.
        random_state: Seed.

    Returns:
        The fitted pipeline.
    """
    pipeline = default_xgboost(numeric, categorical, random_state=random_state)
    return pipeline.fit(X, y, model__sample_weight=sample_weight)


def single_member(weights: Mapping[str, float]) -> str | None:
    """The member a fitted blend gives (almost) all its weight, if any.

    Args:
        weights: A fitted ensemble's ``weights_``.

    Returns:
        The member's name when the ensemble's scores are that member's alone
        (recalibrated), else ``None``; ``None`` for a one-member ensemble, which
        is that member by configuration, not by fit.
    """
    if len(weights) < 2:
        return None
    name, weight = max(weights.items(), key=lambda item: item[1])
    return name if weight >= SINGLE_MEMBER_WEIGHT else None
