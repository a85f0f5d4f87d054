"""The scored list's columns in their order: who, how risky, what to do, why.

Written out here, not read from the code, so a change of the order a user sees
fails the tests that pin it.
"""

from __future__ import annotations

from collections.abc import Iterable

WHO_AND_RISK = (
    "account_id",
    "as_of_date",
    "plan",
    "mrr",
    "seats",
    "tenure_months",
    "currency",
    "churn_probability",
)
DECISION_AND_WHY = (
    "health_score",
    "risk_band",
    "contact",
    "recommended_action",
    "owner_role",
    "expected_contact_profit",
    "account_clv",
    "dominant_driver",
    "likely_churn_type",
    "top_reasons",
    "risk_lowering_reasons",
    "triggers",
)


def list_columns(triggers: Iterable[str]) -> list[str]:
    """Every column of a list scored with a playbook of these triggers."""
    return [
        *WHO_AND_RISK,
        *DECISION_AND_WHY,
        *(f"trigger_{name}" for name in sorted(triggers)),
    ]
