"""Score the newest snapshot: who is at risk, why, and whom to contact."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from churn_pipeline.models import ChurnEnsemble, Explanation
from churn_pipeline.scoring.accounts import score_accounts
from churn_pipeline.scoring.policy import ScoringPolicy, lifetime_from_params

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
    if "recommended_action" in scores:
        logger.info(
            "Actions for the accounts to contact: %s",
            scores.loc[scores["contact"], "dominant_driver"].value_counts().to_dict(),
        )
    return scores


# The columns a CS team reads first, in that order; the rest follow as scored.
_EXPORT_FIRST = (
    "account_id",
    "as_of_date",
    "contact",
    "expected_contact_profit",
    "risk_band",
    "health_score",
    "churn_probability",
    "recommended_action",
    "owner_role",
    "top_reasons",
    "triggers",
    "risk_lowering_reasons",
)
_LIST_SEPARATOR = "; "


def export_scored_list(scores: pd.DataFrame) -> pd.DataFrame:
    """The scored list as a customer-success team opens it in a spreadsheet.

    Args:
        scores: The scored list.

    Returns:
        Accounts to contact first, each group by expected profit of acting
        (largest first); reason and trigger lists joined by ``"; "``; money to
        cents, probabilities to 4 decimals, health to a whole number.
    """
    export = scores.sort_values(
        ["contact", "expected_contact_profit"],
        ascending=[False, False],
        kind="stable",
        ignore_index=True,
    )
    lists = [
        c for c in ("top_reasons", "risk_lowering_reasons", "triggers") if c in export
    ]
    export = export.assign(
        **{c: export[c].map(_LIST_SEPARATOR.join) for c in lists},
        expected_contact_profit=export["expected_contact_profit"].round(2),
        account_clv=export["account_clv"].round(2),
        churn_probability=export["churn_probability"].round(4),
        health_score=export["health_score"].round().astype(int),
    )
    first = [c for c in _EXPORT_FIRST if c in export]
    return export[first + [c for c in export.columns if c not in first]]
