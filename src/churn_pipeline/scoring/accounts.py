"""Score accounts: probability, health, reasons, playbook and the contact decision.

The batch scoring node calls :func:`score_accounts` and the BentoML service
:func:`score_columns`, the same code without the DataFrame around it, so a served
score is the batch score for the same features.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from churn_pipeline.batching import row_batches
from churn_pipeline.evaluation.checks import FloatArray
from churn_pipeline.models import ChurnEnsemble, ChurnExplainer, Explanation
from churn_pipeline.models.columns import Columns, column_values
from churn_pipeline.scoring.context import (
    account_context,
    missing_context,
    warranted_actions,
    whole_health,
)
from churn_pipeline.scoring.playbook import evaluate_triggers, health_score, recommend
from churn_pipeline.scoring.policy import (
    ScoringPolicy,
    expected_contact_profit,
    risk_band,
)
from churn_pipeline.scoring.reasons import ranked_reasons
from churn_pipeline.scoring.value import (
    account_clv,
    check_typical_clv,
    contact_profit,
)

logger = logging.getLogger(__name__)


# Accounts scored at a time by score_accounts: the explanation and the reason
# texts are per-account Python objects, so memory follows the batch, not the
# number of accounts (a million accounts are scored in 20 batches).
SCORE_BATCH_ROWS = 50_000


def score_accounts(
    model: ChurnEnsemble,
    features: Columns,
    policy: ScoringPolicy,
    explanation: Explanation | None = None,
    *,
    explainer: ChurnExplainer | None = None,
    batch_rows: int = SCORE_BATCH_ROWS,
) -> pd.DataFrame:
    """:func:`score_columns` as a DataFrame, one row per account.

    A frame of more than ``batch_rows`` accounts is scored ``batch_rows`` at a
    time (each account's score depends on its own row only, so the list is the
    same), with the matching rows of ``explanation`` when one is given.
    """
    if not isinstance(features, pd.DataFrame):
        return pd.DataFrame(
            score_columns(model, features, policy, explanation, explainer=explainer)
        )
    batches = row_batches(len(features), batch_rows, progress="Scored")
    if explanation is None and explainer is None:
        # One explainer for every batch (building it walks every tree).
        explainer = ChurnExplainer(model)
    parts = []
    for rows in batches:
        part = None
        if explanation is not None:
            part = Explanation(
                explanation.base_value,
                explanation.contributions.iloc[rows],
                explanation.calibration_slope,
            )
        columns = score_columns(
            model, features.iloc[rows], policy, part, explainer=explainer
        )
        parts.append(pd.DataFrame(columns))
    return pd.concat(parts, ignore_index=True)


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
        Column name -> one value per account, in the input's order, the way a
        CS manager reads a row: who (``account_id``, then the
        ``scoring.account_context`` columns the features have, of
        ``account_owner``, ``plan``, ``mrr``, ``seats``, ``tenure_months``, and
        ``currency``), how risky (``churn_probability``, ``health_score`` a
        whole number 0-100, ``risk_band``), what to do (``contact``; with a
        playbook ``recommended_action`` and ``owner_role``, the default action
        where not warranted; ``expected_contact_profit`` and ``account_clv``),
        then why (with a playbook ``dominant_driver`` and
        ``likely_churn_type``; ``top_reasons`` and ``risk_lowering_reasons``;
        with a playbook the ``triggers`` that fired and one
        ``trigger_<name>`` flag per rule).

    Raises:
        ValueError: If the ``"per_account"`` basis finds no MRR column, or an
            MRR that is negative or missing, or ``explainer`` explains another
            model.
    """
    if policy.clv_basis == "per_account" and policy.mrr_column not in features:
        raise ValueError(
            f"clv_basis 'per_account' values accounts from the "
            f"'{policy.mrr_column}' column (scoring.account_context.mrr), which "
            "the features do not have; map mrr to a column or use basis 'fixed'"
        )
    probability, explanation = _predict(model, features, explanation, explainer)
    band = risk_band(probability, policy)
    clv, profit, contact = value_and_contact(probability, features, policy)
    contributions = explanation.contributions.reset_index(drop=True)
    typical = getattr(model, "typical_values_", None)  # absent: models before it
    reasons: dict[str, Any] = {
        column: ranked_reasons(
            contributions,
            features,
            policy.n_reasons,
            direction=direction,
            typical=typical,
            context=policy.context_drivers,
            currency=policy.currency,
        )
        for column, direction in (
            ("top_reasons", "raising"),
            ("risk_lowering_reasons", "lowering"),
        )
    }
    actions, why, triggers = _playbook_columns(
        policy, features, contributions, contact=contact, band=band
    )
    return {
        "account_id": column_values(features, "account_id"),
        **account_context(features, policy.account_context),
        "currency": np.full(len(probability), policy.currency, dtype=object),
        "churn_probability": probability,
        "health_score": whole_health(
            health_score(
                probability, yellow_from=policy.yellow_from, red_from=policy.red_from
            ),
            band,
        ),
        "risk_band": band,
        "contact": contact,
        **actions,
        "expected_contact_profit": profit,
        "account_clv": clv,
        **why,
        **reasons,
        **triggers,
    }


def _predict(
    model: ChurnEnsemble,
    features: Columns,
    explanation: Explanation | None,
    explainer: ChurnExplainer | None,
) -> tuple[np.ndarray, Explanation]:
    """Churn probabilities, and the explanation unless the caller has one."""
    if explanation is not None:
        return model.predict_proba(features)[:, 1], explanation
    if explainer is None:
        explainer = ChurnExplainer(model)
    elif explainer.model is not model:
        raise ValueError("explainer explains another model than model")
    return explainer.predict_and_explain(features)


def _playbook_columns(
    policy: ScoringPolicy,
    features: Columns,
    contributions: pd.DataFrame,
    *,
    contact: np.ndarray,
    band: np.ndarray,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """The playbook's columns: what to do, which driver, which rules fired.

    Returns:
        ``recommended_action`` and ``owner_role`` (the default action where
        :func:`~churn_pipeline.scoring.context.warranted_actions` says so);
        ``dominant_driver`` and ``likely_churn_type``; ``triggers`` and the
        ``trigger_<name>`` flags. All empty without a playbook.
    """
    if policy.playbook is None:
        return {}, {}, {}
    fired, texts = evaluate_triggers(policy.playbook, features)
    actions = recommend(policy.playbook, contributions, policy.context_drivers)
    actions = warranted_actions(
        actions,
        contact=contact,
        band=band,
        default=policy.playbook.default_action,
        act_bands=policy.untargeted_action_bands,
    )
    decision = {k: actions.pop(k) for k in ("recommended_action", "owner_role")}
    return decision, actions, {"triggers": texts, **fired}


def value_and_contact(
    probability: np.ndarray, features: Columns, policy: ScoringPolicy
) -> tuple[FloatArray, FloatArray, np.ndarray]:
    """Each account's CLV, expected contact profit and contact decision.

    With the ``"fixed"`` basis every account is worth ``policy.clv`` and is
    contacted from ``policy.contact_threshold``. With ``"per_account"`` its CLV
    comes from its MRR (:attr:`ScoringPolicy.mrr_column`), its incentive from
    :meth:`ScoringPolicy.incentive`, and it is contacted when its expected
    profit is > 0; an account worth no more than its incentive gets the same
    formula, which is then never positive.

    Args:
        probability: Churn probability per account.
        features: ``account_id`` and, for ``"per_account"``, the MRR column.
        policy: The scoring policy.

    Returns:
        ``(clv, expected_contact_profit, contact)``, one value per account.
    """
    economics = policy.economics
    if policy.clv_basis == "fixed":
        profit = np.asarray(expected_contact_profit(probability, economics), float)
        clv = np.full(len(probability), policy.clv, dtype=float)
        return clv, profit, probability >= policy.contact_threshold
    clv = account_clv(
        pd.Series(
            column_values(features, policy.mrr_column),
            index=column_values(features, "account_id"),
        ),
        gross_margin=policy.gross_margin,
        lifetime_months=policy.lifetime_months or 0.0,  # set: __post_init__
    )
    profit = contact_profit(
        probability,
        clv,
        policy.incentive(clv),
        accept_rate=economics.accept_rate,
        contact_cost=economics.contact_cost,
    )
    return clv, profit, profit > 0


def log_scored_list(
    scores: pd.DataFrame, features: Columns, policy: ScoringPolicy
) -> None:
    """Log the contact rule, the actions by band and what the list left out.

    With the ``"per_account"`` basis it also warns when ``profit.clv`` (what
    EMPC values every account at) is far from the accounts' mean CLV
    (:func:`~churn_pipeline.scoring.value.check_typical_clv`).

    Args:
        scores: :func:`score_accounts` output.
        features: The scored features.
        policy: The policy that scored them.
    """
    currency = policy.currency or "currency units"
    if policy.clv_basis == "per_account":
        mean = check_typical_clv(scores["account_clv"], policy.clv)
        rule = (
            f"expected profit > 0; CLV = MRR x {policy.gross_margin:g} x "
            f"{policy.lifetime_months:.1f} months, mean {mean:,.0f} {currency}; "
            f"{policy.incentive_basis} incentive"
        )
    else:
        rule = f"threshold {policy.contact_threshold:.3f}, CLV {policy.clv:g}"
    logger.info(
        "%d of %d accounts to contact (%s); expected profit of those %s %s",
        int(scores["contact"].sum()),
        len(scores),
        rule,
        f"{scores.loc[scores['contact'], 'expected_contact_profit'].sum():,.0f}",
        currency,
    )
    if "recommended_action" in scores:
        action = scores["recommended_action"].str.split(":").str[0]
        logger.info(
            "Recommended actions by band: %s",
            action.groupby(scores["risk_band"]).value_counts().to_dict(),
        )
    missing = missing_context(features, policy.account_context)
    if missing:
        logger.info("Account context not in the data, left out: %s", missing)
