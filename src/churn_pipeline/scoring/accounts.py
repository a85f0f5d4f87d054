"""Score accounts: probability, health, reasons, playbook and the contact decision.

The batch scoring node calls :func:`score_accounts` and the BentoML service
:func:`score_columns`, the same code without the DataFrame around it, so a served
score is the batch score for the same features.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from churn_pipeline.evaluation.metrics import (
    cost_sensitive_threshold,
    expected_contact_profit,
)
from churn_pipeline.models import ChurnEnsemble, Explanation
from churn_pipeline.models.columns import Columns, column_values
from churn_pipeline.scoring.playbook import (
    Playbook,
    evaluate_triggers,
    health_score,
    recommend,
)
from churn_pipeline.scoring.reasons import ranked_reasons
from churn_pipeline.scoring.value import account_clv, expected_lifetime_months

RISK_BANDS = ("green", "yellow", "red")
# How the CLV of an account is valued: one fixed CLV for everyone, or MRR x gross
# margin x expected lifetime per account (churn_pipeline.scoring.value).
CLV_BASES = ("fixed", "per_account")
MRR_COLUMN = "mrr"


@dataclass(frozen=True)
class ScoringPolicy:
    """How probabilities become actions; stored with each registered model.

    Attributes:
        yellow_from: Probability at which an account is at risk (yellow).
        red_from: Probability at which an account is critical (red).
        contact_threshold: Probability from which contacting pays on average at
            the fixed ``clv``; decides ``contact`` only when ``clv_basis`` is
            ``"fixed"``.
        n_reasons: Number of risk-raising drivers reported per account.
        clv: Fixed customer lifetime value (the ``"fixed"`` basis).
        incentive_cost: Retention incentive offered to a contacted account.
        contact_cost: Cost of one contact.
        accept_rate: Expected share of contacted churners the offer retains.
        clv_basis: ``"fixed"`` (every account is worth ``clv``; contact from
            ``contact_threshold``) or ``"per_account"`` (CLV = MRR x
            ``gross_margin`` x ``lifetime_months``; contact when the account's
            expected contact profit is > 0). Policies stored before this field
            existed load as ``"fixed"``.
        gross_margin: Share of MRR kept as margin, in (0, 1].
        lifetime_months: Expected remaining lifetime in months; required by the
            ``"per_account"`` basis.
        playbook: Rule triggers and actions per driver; ``None`` (a customer
            table, or a policy stored before playbooks) scores without them.
    """

    yellow_from: float
    red_from: float
    contact_threshold: float
    n_reasons: int
    clv: float
    incentive_cost: float
    contact_cost: float
    accept_rate: float
    clv_basis: str = "fixed"
    gross_margin: float = 0.8
    lifetime_months: float | None = None
    playbook: Playbook | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.yellow_from < self.red_from < 1.0:
            raise ValueError(
                "Risk bands need 0 < yellow_from < red_from < 1, got "
                f"yellow_from={self.yellow_from}, red_from={self.red_from}"
            )
        if not 0.0 <= self.contact_threshold <= 1.0:
            raise ValueError(
                "contact_threshold is a probability and must be in [0, 1], got "
                f"{self.contact_threshold}"
            )
        if self.n_reasons < 1:
            raise ValueError(f"n_reasons must be >= 1, got {self.n_reasons}")
        if self.clv_basis not in CLV_BASES:
            raise ValueError(
                f"clv_basis must be one of {', '.join(map(repr, CLV_BASES))}, "
                f"got {self.clv_basis!r}"
            )
        if not 0.0 < self.gross_margin <= 1.0:
            raise ValueError(f"gross_margin must be in (0, 1], got {self.gross_margin}")
        if self.lifetime_months is None:
            if self.clv_basis == "per_account":
                raise ValueError(
                    "clv_basis 'per_account' needs lifetime_months (estimate it "
                    "with churn_pipeline.scoring.value.expected_lifetime_months)"
                )
        elif not 0.0 < self.lifetime_months < math.inf:
            raise ValueError(
                f"lifetime_months must be finite and > 0, got {self.lifetime_months}"
            )

    @classmethod
    def from_params(
        cls,
        scoring: Mapping[str, Any],
        profit: Mapping[str, Any],
        *,
        lifetime_months: float | None = None,
    ) -> ScoringPolicy:
        """Build the policy from the ``scoring`` and ``profit`` parameters.

        The contact threshold is the cost-sensitive threshold at the expected
        accept rate ``alpha / (alpha + beta)`` unless ``scoring`` fixes one.
        ``scoring["value"]`` (``basis``, ``gross_margin``) chooses how accounts
        are valued; without it the basis is ``"fixed"``. ``scoring["playbook"]``,
        if set, gives the triggers and actions.

        Args:
            scoring: ``scoring`` parameters.
            profit: ``profit`` parameters.
            lifetime_months: Expected lifetime in months, required by the
                ``"per_account"`` basis (see :func:`lifetime_from_params`).

        Raises:
            ValueError: If the basis is ``"per_account"`` and ``lifetime_months``
                is missing, or it is combined with a fixed ``contact_threshold``.
        """
        value = scoring.get("value") or {}
        basis = str(value.get("basis", "fixed"))
        if basis == "per_account" and lifetime_months is None:
            raise ValueError(
                "scoring.value.basis is 'per_account': pass lifetime_months, e.g. "
                "lifetime_from_params(scoring, labels) with the labelled snapshots"
            )
        accept_rate = profit["alpha"] / (profit["alpha"] + profit["beta"])
        costs = {
            "clv": float(profit["clv"]),
            "incentive_cost": float(profit["incentive_cost"]),
            "contact_cost": float(profit["contact_cost"]),
        }
        threshold = scoring.get("contact_threshold")
        if threshold is not None and basis == "per_account":
            raise ValueError(
                "scoring.contact_threshold applies to scoring.value.basis 'fixed' "
                "only; 'per_account' contacts when the expected profit is > 0. Set "
                "contact_threshold: null or basis: fixed"
            )
        if threshold is None:
            threshold = cost_sensitive_threshold(**costs, accept_rate=accept_rate)
        return cls(
            yellow_from=float(scoring["risk_bands"]["yellow_from"]),
            red_from=float(scoring["risk_bands"]["red_from"]),
            contact_threshold=float(threshold),
            n_reasons=int(scoring["n_reasons"]),
            accept_rate=float(accept_rate),
            clv_basis=basis,
            gross_margin=float(value.get("gross_margin", 0.8)),
            lifetime_months=(
                None if lifetime_months is None else float(lifetime_months)
            ),
            playbook=(
                Playbook.from_params(scoring["playbook"])
                if scoring.get("playbook")
                else None
            ),
            **costs,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict, for MLflow model metadata (see :meth:`from_dict`)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["playbook"] = None if self.playbook is None else self.playbook.to_dict()
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ScoringPolicy:
        """The policy :meth:`to_dict` stored; older dicts lack newer fields."""
        values = dict(values)
        playbook = values.pop("playbook", None)
        return cls(
            **values,
            playbook=None if playbook is None else Playbook.from_params(playbook),
        )


def lifetime_from_params(
    scoring: Mapping[str, Any], labels: np.ndarray | pd.Series
) -> float | None:
    """Expected lifetime for :meth:`ScoringPolicy.from_params`, or None.

    Args:
        scoring: ``scoring`` parameters; ``scoring["value"]`` gives the basis,
            ``horizon_days`` (the label window) and ``max_lifetime_months``.
        labels: 0/1 labels of labelled snapshots.

    Returns:
        :func:`~churn_pipeline.scoring.value.expected_lifetime_months` of ``labels`` for
        the ``"per_account"`` basis; None for ``"fixed"`` (no lifetime needed).
    """
    value = scoring.get("value") or {}
    if value.get("basis", "fixed") != "per_account":
        return None
    return lifetime_of(value, labels)


def lifetime_of(value: Mapping[str, Any], labels: np.ndarray | pd.Series) -> float:
    """Expected lifetime in months from a ``scoring.value`` block, any basis.

    Args:
        value: ``scoring.value`` parameters (``horizon_days``,
            ``max_lifetime_months``).
        labels: 0/1 labels of labelled snapshots.

    Returns:
        :func:`~churn_pipeline.scoring.value.expected_lifetime_months` of ``labels``.
    """
    return expected_lifetime_months(
        labels,
        horizon_days=int(value["horizon_days"]),
        max_months=float(value["max_lifetime_months"]),
    )


def risk_band(probability: np.ndarray, policy: ScoringPolicy) -> np.ndarray:
    """Green below ``yellow_from``, red from ``red_from``, yellow between."""
    index = np.searchsorted(
        [policy.yellow_from, policy.red_from], probability, side="right"
    )
    return np.asarray(RISK_BANDS, dtype=object)[index]


def score_accounts(
    model: ChurnEnsemble,
    features: Columns,
    policy: ScoringPolicy,
    explanation: Explanation | None = None,
) -> pd.DataFrame:
    """:func:`score_columns` as a DataFrame, one row per account."""
    return pd.DataFrame(score_columns(model, features, policy, explanation))


def score_columns(
    model: ChurnEnsemble,
    features: Columns,
    policy: ScoringPolicy,
    explanation: Explanation | None = None,
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
            MRR that is negative or missing.
    """
    if policy.clv_basis == "per_account" and MRR_COLUMN not in features:
        raise ValueError(
            f"clv_basis 'per_account' values accounts from the '{MRR_COLUMN}' "
            "column, which the features do not have; use clv_basis 'fixed'"
        )
    if explanation is None:
        probability, explanation = model.predict_and_explain(features)
    else:
        probability = model.predict_proba(features)[:, 1]
    clv, profit, contact = _value_and_contact(probability, features, policy)
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


def _value_and_contact(
    probability: np.ndarray, features: Columns, policy: ScoringPolicy
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each account's CLV, expected contact profit and contact decision."""
    if policy.clv_basis == "fixed":
        profit = np.asarray(
            expected_contact_profit(
                probability,
                clv=policy.clv,
                incentive_cost=policy.incentive_cost,
                contact_cost=policy.contact_cost,
                accept_rate=policy.accept_rate,
            ),
            dtype=float,
        )
        clv = np.full(len(probability), policy.clv, dtype=float)
        return clv, profit, probability >= policy.contact_threshold
    clv = account_clv(
        pd.Series(
            column_values(features, MRR_COLUMN),
            index=column_values(features, "account_id"),
        ),
        gross_margin=policy.gross_margin,
        lifetime_months=policy.lifetime_months or 0.0,  # set: __post_init__
    )
    profit = _contact_profit(probability, clv, policy)
    return clv, profit, profit > 0


def _contact_profit(
    probability: np.ndarray, clv: np.ndarray, policy: ScoringPolicy
) -> np.ndarray:
    """:func:`~churn_pipeline.evaluation.metrics.expected_contact_profit` per account.

    That function refuses ``clv <= incentive_cost``, where the offer costs at
    least what the account is worth; such accounts (small MRR) get the same
    formula, ``p gamma (clv - d) - (1 - p) d - f``, which is then never positive.
    """
    profit = np.empty(len(probability), dtype=float)
    worth = clv > policy.incentive_cost
    if worth.any():
        profit[worth] = expected_contact_profit(
            probability[worth],
            clv=clv[worth],
            incentive_cost=policy.incentive_cost,
            contact_cost=policy.contact_cost,
            accept_rate=policy.accept_rate,
        )
    p, d = probability[~worth], policy.incentive_cost
    profit[~worth] = (
        p * policy.accept_rate * (clv[~worth] - d) - (1 - p) * d - policy.contact_cost
    )
    return profit
