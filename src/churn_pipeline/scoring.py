"""Score accounts: probability, risk band, top reasons and the contact decision.

The batch scoring node and the BentoML service both call :func:`score_accounts`,
so a served score is the batch score for the same features.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from churn_pipeline.features.registry import FEATURES_BY_NAME
from churn_pipeline.metrics import cost_sensitive_threshold, expected_contact_profit
from churn_pipeline.models import ChurnEnsemble, Explanation
from churn_pipeline.value import account_clv, expected_lifetime_months

RISK_BANDS = ("green", "yellow", "red")
# How the CLV of an account is valued: one fixed CLV for everyone, or MRR x gross
# margin x expected lifetime per account (churn_pipeline.value).
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
                    "with churn_pipeline.value.expected_lifetime_months)"
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
        are valued; without it the basis is ``"fixed"``.

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
            **costs,
        )

    def to_dict(self) -> dict[str, float | int | str | None]:
        """Plain dict, for MLflow model metadata."""
        return asdict(self)


def lifetime_from_params(
    scoring: Mapping[str, Any], labels: np.ndarray | pd.Series
) -> float | None:
    """Expected lifetime for :meth:`ScoringPolicy.from_params`, or None.

    Args:
        scoring: ``scoring`` parameters; ``scoring["value"]`` gives the basis,
            ``horizon_days`` (the label window) and ``max_lifetime_months``.
        labels: 0/1 labels of labelled snapshots.

    Returns:
        :func:`~churn_pipeline.value.expected_lifetime_months` of ``labels`` for
        the ``"per_account"`` basis; None for ``"fixed"`` (no lifetime needed).
    """
    value = scoring.get("value") or {}
    if value.get("basis", "fixed") != "per_account":
        return None
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


def describe(feature: str, value: object) -> str:
    """Plain-language text for one feature value, from the feature registry.

    Columns outside the registry (a customer table's) read ``name = value``.
    """
    spec = FEATURES_BY_NAME.get(feature)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        name = spec.description.rstrip(".") if spec else feature
        return f"{name}: unknown"
    if spec is None:  # a column of a customer table: no template, say it plainly
        return (
            f"{feature} = {value:g}"
            if isinstance(value, float)
            else f"{feature} = {value}"
        )
    return spec.reason.format(value=value)


def top_reasons(
    contributions: pd.DataFrame, features: pd.DataFrame, n_reasons: int
) -> list[list[str]]:
    """The strongest risk-raising drivers of each account, as sentences.

    Args:
        contributions: SHAP contributions per feature (rows align with
            ``features``).
        features: The feature values that were explained.
        n_reasons: How many drivers to keep per account.

    Returns:
        One list of at most ``n_reasons`` texts per account, strongest first.
    """
    values = contributions.to_numpy()
    order = np.argsort(-values, axis=1, kind="stable")[:, :n_reasons]
    columns = contributions.columns
    reasons = []
    for row, ranked in enumerate(order):
        texts = [
            describe(columns[j], features.iloc[row][columns[j]])
            for j in ranked
            if values[row, j] > 0
        ]
        reasons.append(texts)
    return reasons


def score_accounts(
    model: ChurnEnsemble,
    features: pd.DataFrame,
    policy: ScoringPolicy,
    explanation: Explanation | None = None,
) -> pd.DataFrame:
    """Score accounts with the model and turn scores into actions.

    With the ``"per_account"`` basis each account's CLV comes from its ``mrr``
    column and ``contact`` is ``expected_contact_profit > 0``; with ``"fixed"``
    every account is worth ``policy.clv`` and ``contact`` is
    ``churn_probability >= policy.contact_threshold``.

    Args:
        model: A fitted churn ensemble.
        features: One row per account with ``account_id`` and the model features.
        policy: Risk bands, contact threshold and reason count.
        explanation: ``model.explain(features)`` if already computed.

    Returns:
        ``account_id``, ``churn_probability``, ``risk_band``, ``top_reasons``,
        ``account_clv``, ``expected_contact_profit`` and ``contact``, in the
        input's order.

    Raises:
        ValueError: If the ``"per_account"`` basis finds no ``mrr`` column, or an
            MRR that is negative or missing.
    """
    per_account = policy.clv_basis == "per_account"
    if per_account and MRR_COLUMN not in features.columns:
        raise ValueError(
            f"clv_basis 'per_account' values accounts from the '{MRR_COLUMN}' "
            "column, which the features do not have; use clv_basis 'fixed'"
        )
    probability = model.predict_proba(features)[:, 1]
    if explanation is None:
        explanation = model.explain(features)
    if per_account:
        clv = account_clv(
            pd.Series(
                features[MRR_COLUMN].to_numpy(), index=features["account_id"].to_numpy()
            ),
            gross_margin=policy.gross_margin,
            lifetime_months=policy.lifetime_months or 0.0,  # set: __post_init__
        )
        profit = _contact_profit(probability, clv, policy)
        contact = profit > 0
    else:
        clv = np.full(len(probability), policy.clv, dtype=float)
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
        contact = probability >= policy.contact_threshold
    return pd.DataFrame(
        {
            "account_id": features["account_id"].to_numpy(),
            "churn_probability": probability,
            "risk_band": risk_band(probability, policy),
            "top_reasons": top_reasons(
                explanation.contributions.reset_index(drop=True),
                features.reset_index(drop=True),
                policy.n_reasons,
            ),
            "account_clv": clv,
            "expected_contact_profit": profit,
            "contact": contact,
        }
    )


def _contact_profit(
    probability: np.ndarray, clv: np.ndarray, policy: ScoringPolicy
) -> np.ndarray:
    """:func:`~churn_pipeline.metrics.expected_contact_profit` per account.

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
