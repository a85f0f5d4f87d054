"""Score accounts: probability, health, reasons, playbook and the contact decision.

The batch scoring node calls :func:`score_accounts` and the BentoML service
:func:`score_columns`, the same code without the DataFrame around it, so a served
score is the batch score for the same features.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from churn_pipeline.models import ChurnEnsemble, ChurnExplainer, Explanation
from churn_pipeline.models.columns import Columns, column_values
from churn_pipeline.scoring.playbook import evaluate_triggers, health_score, recommend
from churn_pipeline.scoring.policy import (
    MRR_COLUMN,
    ScoringPolicy,
    risk_band,
    value_and_contact,
)
from churn_pipeline.scoring.reasons import ranked_reasons


def score_accounts(
    model: ChurnEnsemble,
    features: Columns,
    policy: ScoringPolicy,
    explanation: Explanation | None = None,
    *,
    explainer: ChurnExplainer | None = None,
) -> pd.DataFrame:
    """:func:`score_columns` as a DataFrame, one row per account."""
    return pd.DataFrame(
        score_columns(model, features, policy, explanation, explainer=explainer)
    )


def score_columns(
    model: ChurnEnsemble,
    features: Columns,
    policy: ScoringPolicy,
    explanation: Explanation | None = None,
    *,
    explainer: ChurnExplainer | None = None,
) -> dict[str, Any]:
    """Score accounts with the model and turn scores into actions.

    With the ``"per_account"`` basis each account's CLV comes from its ``mrr``
    column and ``contact`` is ``expected_contact_profit > 0``; with ``"fixed"``
    every account is worth ``policy.clv`` and ``contact`` is
    ``churn_probability >= policy.contact_threshold``.

    Args:
        model: A fitted churn ensemble.
        features: One row per account with ``account_id`` and the model
            features: a DataFrame, or column name -> array (the API's path).
        policy: Risk bands, contact rule, reason count and playbook.
        explanation: ``model.explain(features)`` if already computed.
        explainer: ``ChurnExplainer(model)`` if the caller holds one (serving
            builds it once per loaded model); otherwise one is built here when
            ``explanation`` is not given.

    Returns:
        Column name -> one value per account, in the input's order:
        ``account_id``, ``churn_probability``,
        ``health_score`` (0-100), ``risk_band``, ``top_reasons`` (risk-raising)
        and ``risk_lowering_reasons``; with a playbook, ``triggers`` (texts of
        the rules that fired), one ``trigger_<name>`` flag per rule,
        ``dominant_driver``, ``likely_churn_type``, ``recommended_action`` and
        ``owner_role``; then ``account_clv``, ``expected_contact_profit`` and
        ``contact``.

    Raises:
        ValueError: If the ``"per_account"`` basis finds no ``mrr`` column, or an
            MRR that is negative or missing, or ``explainer`` explains another
            model.
    """
    if policy.clv_basis == "per_account" and MRR_COLUMN not in features:
        raise ValueError(
            f"clv_basis 'per_account' values accounts from the '{MRR_COLUMN}' "
            "column, which the features do not have; use clv_basis 'fixed'"
        )
    if explanation is None:
        if explainer is None:
            explainer = ChurnExplainer(model)
        elif explainer.model is not model:
            raise ValueError("explainer explains another model than model")
        probability, explanation = explainer.predict_and_explain(features)
    else:
        probability = model.predict_proba(features)[:, 1]
    clv, profit, contact = value_and_contact(probability, features, policy)
    contributions = explanation.contributions.reset_index(drop=True)
    typical = getattr(model, "typical_values_", None)  # absent: models before it
    scores: dict[str, Any] = {
        "account_id": column_values(features, "account_id"),
        "churn_probability": probability,
        "health_score": health_score(
            probability, yellow_from=policy.yellow_from, red_from=policy.red_from
        ),
        "risk_band": risk_band(probability, policy),
        **{
            column: ranked_reasons(
                contributions,
                features,
                policy.n_reasons,
                direction=direction,
                typical=typical,
            )
            for column, direction in (
                ("top_reasons", "raising"),
                ("risk_lowering_reasons", "lowering"),
            )
        },
    }
    if policy.playbook is not None:
        fired, texts = evaluate_triggers(policy.playbook, features)
        scores["triggers"] = texts
        scores |= fired | recommend(policy.playbook, contributions)
    return scores | {
        "account_clv": clv,
        "expected_contact_profit": profit,
        "contact": contact,
    }
