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

RISK_BANDS = ("green", "yellow", "red")


@dataclass(frozen=True)
class ScoringPolicy:
    """How probabilities become actions; stored with each registered model.

    Attributes:
        yellow_from: Probability at which an account is at risk (yellow).
        red_from: Probability at which an account is critical (red).
        contact_threshold: Probability above which contacting pays on average.
        n_reasons: Number of risk-raising drivers reported per account.
        clv: Customer lifetime value used for the expected contact profit.
        incentive_cost: Retention incentive offered to a contacted account.
        contact_cost: Cost of one contact.
        accept_rate: Expected share of contacted churners the offer retains.
    """

    yellow_from: float
    red_from: float
    contact_threshold: float
    n_reasons: int
    clv: float
    incentive_cost: float
    contact_cost: float
    accept_rate: float

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

    @classmethod
    def from_params(
        cls, scoring: Mapping[str, Any], profit: Mapping[str, Any]
    ) -> ScoringPolicy:
        """Build the policy from the ``scoring`` and ``profit`` parameters.

        The contact threshold is the cost-sensitive threshold at the expected
        accept rate ``alpha / (alpha + beta)`` unless ``scoring`` fixes one.
        """
        accept_rate = profit["alpha"] / (profit["alpha"] + profit["beta"])
        costs = {
            "clv": float(profit["clv"]),
            "incentive_cost": float(profit["incentive_cost"]),
            "contact_cost": float(profit["contact_cost"]),
        }
        threshold = scoring.get("contact_threshold")
        if threshold is None:
            threshold = cost_sensitive_threshold(**costs, accept_rate=accept_rate)
        return cls(
            yellow_from=float(scoring["risk_bands"]["yellow_from"]),
            red_from=float(scoring["risk_bands"]["red_from"]),
            contact_threshold=float(threshold),
            n_reasons=int(scoring["n_reasons"]),
            accept_rate=float(accept_rate),
            **costs,
        )

    def to_dict(self) -> dict[str, float | int]:
        """Plain dict, for MLflow model metadata."""
        return asdict(self)


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

    Args:
        model: A fitted churn ensemble.
        features: One row per account with ``account_id`` and the model features.
        policy: Risk bands, contact threshold and reason count.
        explanation: ``model.explain(features)`` if already computed.

    Returns:
        ``account_id``, ``churn_probability``, ``risk_band``, ``top_reasons``,
        ``expected_contact_profit`` and ``contact``, in the input's order.
    """
    probability = model.predict_proba(features)[:, 1]
    if explanation is None:
        explanation = model.explain(features)
    profit = expected_contact_profit(
        probability,
        clv=policy.clv,
        incentive_cost=policy.incentive_cost,
        contact_cost=policy.contact_cost,
        accept_rate=policy.accept_rate,
    )
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
            "expected_contact_profit": np.asarray(profit, dtype=float),
            "contact": probability >= policy.contact_threshold,
        }
    )
