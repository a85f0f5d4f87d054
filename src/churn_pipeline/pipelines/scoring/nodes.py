"""Score the newest snapshot: who is at risk, why, and whom to contact."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from churn_pipeline.models import ChurnEnsemble, Explanation
from churn_pipeline.scoring import (
    ScoringPolicy,
    lifetime_from_params,
    score_accounts,
)

logger = logging.getLogger(__name__)


def score_snapshot(
    model: ChurnEnsemble,
    scoring: pd.DataFrame,
    explanation: Explanation,
    params: dict[str, Any],
    profit: dict[str, Any],
    labelled: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Score every account active at the newest as-of date.

    Args:
        model: The fitted ensemble.
        scoring: Snapshots at the newest as-of date.
        explanation: SHAP contributions for ``scoring``.
        params: ``scoring`` parameters.
        profit: ``profit`` parameters.
        labelled: Labelled snapshots (``label``) whose churn rate gives the
            expected lifetime of the ``per_account`` value basis. The pipeline
            passes ``test_snapshots``, the labels the registered policy is
            built from, so batch and served decisions agree.

    Returns:
        The scored list, riskiest first, with ``as_of_date`` after ``account_id``.
    """
    lifetime = (
        None if labelled is None else lifetime_from_params(params, labelled["label"])
    )
    policy = ScoringPolicy.from_params(params, profit, lifetime_months=lifetime)
    scores = score_accounts(model, scoring, policy, explanation)
    scores.insert(1, "as_of_date", scoring["as_of_date"].to_numpy())
    scores = scores.sort_values("churn_probability", ascending=False, ignore_index=True)
    if policy.clv_basis == "per_account":
        rule = (
            f"expected profit > 0; CLV = MRR x {policy.gross_margin:g} x "
            f"{policy.lifetime_months:.1f} months"
        )
    else:
        rule = f"threshold {policy.contact_threshold:.3f}, CLV {policy.clv:g}"
    logger.info(
        "Scored %d accounts: %s; %d to contact (%s)",
        len(scores),
        scores["risk_band"].value_counts().to_dict(),
        int(scores["contact"].sum()),
        rule,
    )
    return scores
