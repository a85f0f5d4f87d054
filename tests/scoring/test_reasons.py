"""Reason codes: registry texts, comparisons, and drivers each way."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn_pipeline.features import FEATURES
from churn_pipeline.scoring.reasons import change_text, describe, ranked_reasons

COLUMNS = [
    "logins_30d",
    "days_since_last_login",
    "tickets_open_over_5d",
    "failed_payments_90d",
    "last_nps",
]


@pytest.fixture
def contributions() -> pd.DataFrame:
    return pd.DataFrame(
        [
            [0.10, 0.80, 0.30, -0.20, 0.05],  # four raise risk, one lowers it
            [-0.50, -0.10, 0.00, -0.30, -0.01],  # nothing raises risk
            [0.00, 0.20, -0.40, 0.00, 0.60],  # two raise it, NPS unknown
        ],
        columns=COLUMNS,
    )


@pytest.fixture
def features() -> pd.DataFrame:
    return pd.DataFrame(
        [
            [12.0, 23.0, 2.0, 0.0, 4.0],
            [90.0, 0.0, 0.0, 0.0, 10.0],
            [40.0, 5.0, 1.0, 1.0, np.nan],
        ],
        columns=COLUMNS,
        index=[7, 3, 9],  # not 0..n-1: rows are matched by position
    )


def test_risk_raising_reasons_strongest_first(contributions, features):
    reasons = ranked_reasons(contributions, features, n_reasons=3)

    assert reasons == [
        [
            "no login for 23 days",
            "2 support tickets open for more than 5 days",
            "12 logins in the last 30 days",
        ],
        [],
        [
            "Most recent NPS score (0-10): unknown",
            "no login for 5 days",
        ],
    ]


def test_risk_lowering_reasons_most_negative_first(contributions, features):
    reasons = ranked_reasons(contributions, features, 2, direction="lowering")

    assert reasons == [
        ["0 failed payments in the last 90 days"],
        ["90 logins in the last 30 days", "0 failed payments in the last 90 days"],
        ["1 support tickets open for more than 5 days"],
    ]


@pytest.mark.parametrize("n_reasons", [1, 2, 4, 10])
@pytest.mark.parametrize("direction", ["raising", "lowering"])
def test_at_most_n_reasons_and_never_a_zero_contribution(
    contributions, features, n_reasons, direction
):
    reasons = ranked_reasons(
        contributions, features, n_reasons=n_reasons, direction=direction
    )

    sign = 1 if direction == "raising" else -1
    counts = ((sign * contributions) > 0).sum(axis=1).tolist()
    assert [len(r) for r in reasons] == [min(n_reasons, c) for c in counts]


def test_typical_values_add_a_comparison(contributions, features):
    typical = {"logins_30d": 85.0, "days_since_last_login": 1.4, "last_nps": 8.0}

    reasons = ranked_reasons(contributions, features, 3, typical=typical)

    assert reasons[0] == [
        "no login for 23 days (typical retained account: 1)",
        # no typical value known for this feature: no comparison
        "2 support tickets open for more than 5 days",
        "12 logins in the last 30 days (typical retained account: 85)",
    ]


def test_unknown_direction_lists_the_allowed(contributions, features):
    with pytest.raises(ValueError, match=r"\['raising', 'lowering'\].*'up'"):
        ranked_reasons(contributions, features, 2, direction="up")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("feature", "value", "typical", "text"),
    [
        ("failed_payments_90d", 2.0, None, "2 failed payments in the last 90 days"),
        ("discount_pct", 0.25, 0.1, "discount of 25% (typical retained account: 10%)"),
        ("plan", "pro", None, "on the pro plan"),
        (
            "logins_trend_30d",
            -0.62,
            0.0,  # a change is already a comparison
            "logins down 62 % vs the previous 30 days",
        ),
        (
            "key_feature_trend_30d",
            0.15,
            None,
            "key-feature use up 15 % vs the previous 30 days",
        ),
        ("ticket_burst_7d", 1.0, 0.0, "3 or more tickets in the last 7 days"),
        (
            "last_nps",
            None,
            8.0,
            "Most recent NPS score (0-10): unknown",
        ),
        ("last_nps", pd.NA, 8.0, "Most recent NPS score (0-10): unknown"),
        ("customer_age", 3.5, 9.0, "customer_age = 3.5"),  # not in the registry
    ],
)
def test_describe(feature, value, typical, text):
    assert describe(feature, value, typical) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(-0.62, "down 62 %"), (0.15, "up 15 %"), (0.0, "unchanged"), (0.004, "unchanged")],
)
def test_change_text(value, text):
    assert change_text(value) == text


@pytest.mark.parametrize("spec", FEATURES, ids=lambda spec: spec.name)
def test_every_registry_feature_has_a_reason_text(spec):
    value = spec.example
    text = describe(spec.name, value, value if spec.kind == "numeric" else None)

    assert text
    assert "{" not in text
    # Lists of reasons are joined with "; " in the CSV export.
    assert ";" not in text
    assert ";" not in describe(spec.name, None)
