"""Score the newest snapshot: who is at risk, why, and whom to contact."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from churn_pipeline.models import ChurnEnsemble, Explanation
from churn_pipeline.scoring import ScoringPolicy, score_accounts

logger = logging.getLogger(__name__)


def score_snapshot(
    model: ChurnEnsemble,
    scoring: pd.DataFrame,
    explanation: Explanation,
    params: dict[str, Any],
    profit: dict[str, Any],
) -> pd.DataFrame:
    """Score every account active at the newest as-of date.

    Args:
        model: The fitted ensemble.
        scoring: Snapshots at the newest as-of date.
        explanation: SHAP contributions for ``scoring``.
        params: ``scoring`` parameters.
        profit: ``profit`` parameters.

    Returns:
        The scored list, riskiest first, with ``as_of_date`` after ``account_id``.
    """
    policy = ScoringPolicy.from_params(params, profit)
    scores = score_accounts(model, scoring, policy, explanation)
    scores.insert(1, "as_of_date", scoring["as_of_date"].to_numpy())
    scores = scores.sort_values("churn_probability", ascending=False, ignore_index=True)
    logger.info(
        "Scored %d accounts: %s; %d to contact (threshold %.3f)",
        len(scores),
        scores["risk_band"].value_counts().to_dict(),
        int(scores["contact"].sum()),
        policy.contact_threshold,
    )
    return scores
