"""Scoring policies and parameters shared by the scoring tests."""

from __future__ import annotations

from typing import Any

from tests.models import synthetic

from churn_pipeline.scoring.policy import ScoringPolicy

# A policy as stored in MLflow model metadata before the value basis existed.
OLD_POLICY_DICT = {
    "yellow_from": 0.05,
    "red_from": 0.15,
    "contact_threshold": 11 / 67,
    "n_reasons": 3,
    "clv": 200.0,
    "incentive_cost": 10.0,
    "contact_cost": 1.0,
    "accept_rate": 0.3,
}
VALUE_PARAMS = {
    "basis": "per_account",
    "gross_margin": 0.8,
    "max_lifetime_months": 36,
    "horizon_days": 30,
}


def make_policy(**overrides: Any) -> ScoringPolicy:
    values: dict[str, Any] = dict(OLD_POLICY_DICT)
    values.update(overrides)
    return ScoringPolicy(**values)


def make_per_account(**overrides: Any) -> ScoringPolicy:
    return make_policy(
        **{
            "clv_basis": "per_account",
            "gross_margin": 0.8,
            "lifetime_months": 24.0,
            **overrides,
        }
    )


def scoring_params(**value: Any) -> dict[str, Any]:
    return {**synthetic.SCORING_PARAMS, "value": {**VALUE_PARAMS, **value}}
