"""Reason codes: drivers ranked by their summed contribution, read as their most
telling value; registry texts with plurals and comparisons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.models import synthetic

from churn_pipeline.features import FEATURES
from churn_pipeline.features.specs import DEFAULT_CONTEXT_DRIVERS, driver_features
from churn_pipeline.models import Explanation
from churn_pipeline.scoring.reasons import (
    change_text,
    describe,
    fill_template,
    ranked_reasons,
)

# Drivers: logins (2 features), support_tickets (2), payments, nps, country.
COLUMNS = [
    "logins_30d",
    "days_since_last_login",
    "tickets_open_over_5d",
    "mean_satisfaction_90d",
    "failed_payments_90d",
    "last_nps",
    "country",
]


@pytest.fixture
def contributions() -> pd.DataFrame:
    return pd.DataFrame(
        [
            # logins +0.9, support +0.3, payments -0.2, nps +0.05, country +2
            [0.10, 0.80, 0.30, 0.00, -0.20, 0.05, 2.00],
            # nothing raises risk
            [-0.50, -0.10, 0.00, 0.00, -0.30, -0.01, 0.00],
            # support +0.6 but its strongest feature is unknown; NPS unknown
            [0.00, 0.20, 0.10, 0.50, 0.00, 0.60, -0.30],
            # logins: the features disagree, the net sum (+0.2) counts
            [-0.30, 0.50, 0.00, 0.00, 0.00, 0.00, 0.00],
        ],
        columns=COLUMNS,
    )


@pytest.fixture
def features() -> pd.DataFrame:
    return pd.DataFrame(
        [
            [12.0, 23.0, 2.0, 4.5, 0.0, 4.0, "US"],
            [90.0, 0.0, 0.0, 4.8, 0.0, 10.0, "DE"],
            [40.0, 5.0, 1.0, np.nan, 1.0, np.nan, "GB"],
            [8.0, 14.0, 0.0, 4.0, 0.0, 9.0, "US"],
        ],
        columns=COLUMNS,
        index=[7, 3, 9, 1],  # not 0..n-1: rows are matched by position
    )


def test_risk_raising_reasons_rank_drivers_strongest_first(contributions, features):
    reasons = ranked_reasons(contributions, features, n_reasons=3)

    assert reasons == [
        # The logins driver (0.9) reads as its strongest feature; country
        # (context) is never a reason.
        [
            "no login for 23 days",
            "2 support tickets open for more than 5 days",
            "last NPS score 4",
        ],
        [],
        # Support's strongest feature is unknown: its strongest known one speaks.
        # NPS (+0.6) has only an unknown value: no reason.
        ["1 support ticket open for more than 5 days", "no login for 5 days"],
        ["no login for 14 days"],
    ]


def test_risk_lowering_reasons_most_negative_first(contributions, features):
    reasons = ranked_reasons(contributions, features, 2, direction="lowering")

    assert reasons == [
        ["no failed payments in the last 90 days"],
        ["90 logins in the last 30 days", "no failed payments in the last 90 days"],
        [],  # country lowers the risk, but it is context
        # logins_30d lowers the risk alone, but its driver raises it
        [],
    ]


def test_a_driver_is_one_reason_however_many_features_push(features):
    contributions = pd.DataFrame([[0.4, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0]], columns=COLUMNS)

    reasons = ranked_reasons(contributions, features.iloc[:1], n_reasons=3)

    assert reasons == [["12 logins in the last 30 days"]]


@pytest.mark.parametrize(
    ("context", "first_reasons"),
    [
        ((), ["based in US", "no login for 23 days"]),
        (["country", "logins"], ["2 support tickets open for more than 5 days"]),
    ],
)
def test_context_drivers_are_configuration(
    contributions, features, context, first_reasons
):
    reasons = ranked_reasons(contributions, features, 2, context=context)

    assert reasons[0][: len(first_reasons)] == first_reasons


@pytest.mark.parametrize("n_reasons", [1, 2, 4, 10])
@pytest.mark.parametrize("direction", ["raising", "lowering"])
def test_at_most_n_reasons_and_never_unknown(
    contributions, features, n_reasons, direction
):
    reasons = ranked_reasons(
        contributions, features, n_reasons=n_reasons, direction=direction
    )

    # Drivers each way that have a known value pushing that way (see above).
    qualifying = {"raising": [3, 0, 2, 1], "lowering": [1, 3, 0, 0]}[direction]
    assert [len(r) for r in reasons] == [min(n_reasons, q) for q in qualifying]
    assert not any("unknown" in text for texts in reasons for text in texts)


def test_typical_values_add_a_comparison(contributions, features):
    typical = {"logins_30d": 85.0, "days_since_last_login": 1.4, "last_nps": 8.0}

    reasons = ranked_reasons(contributions, features, 3, typical=typical)

    assert reasons[0] == [
        "no login for 23 days (typical retained account: 1)",
        # no typical value known for this feature: no comparison
        "2 support tickets open for more than 5 days",
        "last NPS score 4 (typical retained account: 8)",
    ]


def test_a_table_outside_the_registry_has_a_driver_per_column():
    contributions = pd.DataFrame({"Contract": [0.7], "gender": [0.9], "tenure": [0.2]})
    features = pd.DataFrame(
        {"Contract": ["Month-to-month"], "gender": ["Female"], "tenure": [3.0]}
    )

    reasons = ranked_reasons(contributions, features, 3, context=["gender"])

    assert reasons == [["Contract = Month-to-month", "tenure = 3"]]


def test_unknown_direction_lists_the_allowed(contributions, features):
    with pytest.raises(ValueError, match=r"\['raising', 'lowering'\].*'up'"):
        ranked_reasons(contributions, features, 2, direction="up")  # type: ignore[arg-type]


# ------------------------------------------------------------------- texts
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
        ("ticket_burst_7d", 0.0, 0.0, "fewer than 3 tickets in the last 7 days"),
        ("in_first_90_days", 1.0, None, "still in its first 90 days"),
        ("in_first_90_days", 0.0, None, "past its first 90 days"),
        (
            "tickets_open_over_5d",
            0.0,
            0.0,
            "no support ticket open for more than 5 days (typical retained account: 0)",
        ),
        ("last_nps", None, 8.0, "Most recent NPS score (0-10): unknown"),
        ("last_nps", pd.NA, 8.0, "Most recent NPS score (0-10): unknown"),
        ("customer_age", 3.5, 9.0, "customer_age = 3.5"),  # not in the registry
    ],
)
def test_describe(feature, value, typical, text):
    assert describe(feature, value, typical) == text


@pytest.mark.parametrize(
    ("feature", "texts"),
    [
        (
            "failed_payments_90d",
            (
                "no failed payments in the last 90 days",
                "1 failed payment in the last 90 days",
                "2 failed payments in the last 90 days",
            ),
        ),
        (
            "uses_integrations_7d",
            (
                "no use of integrations in the last 7 days",
                "1 use of integrations in the last 7 days",
                "2 uses of integrations in the last 7 days",
            ),
        ),
        (
            "logins_30d",
            (
                "no logins in the last 30 days",
                "1 login in the last 30 days",
                "2 logins in the last 30 days",
            ),
        ),
        (
            "payment_retries_90d",
            (
                "no payment retries in the last 90 days",
                "1 payment retry in the last 90 days",
                "2 payment retries in the last 90 days",
            ),
        ),
        (
            "tenure_months",
            (
                "customer for less than a month",
                "customer for 1 month",
                "customer for 2 months",
            ),
        ),
        (
            "nps_change",
            (
                "NPS unchanged since the answer before",
                "NPS changed by +1 point",
                "NPS changed by +2 points",
            ),
        ),
    ],
)
@pytest.mark.parametrize("count", [0, 1, 2])
def test_counts_agree_with_their_nouns(feature, texts, count):
    assert describe(feature, float(count)) == texts[count]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0 things"),
        (0.6, "1 thing"),  # agrees with the number as written
        (1.0, "1 thing"),
        (-1.0, "-1 thing"),
        (2.0, "2 things"),
        (1.4, "1 thing"),
    ],
)
def test_fill_template_plural(value, text):
    assert fill_template("{value:.0f} thing{s}", value) == text


@pytest.mark.parametrize(
    ("value", "text"), [(1.0, "1 box in 1.0 days"), (3.0, "3 boxes in 3.0 days")]
)
def test_fill_template_irregular_plural(value, text):
    assert fill_template("{value:.0f} {s:box|boxes} in {value:.1f} days", value) == (
        text
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [(-0.62, "down 62 %"), (0.15, "up 15 %"), (0.0, "unchanged"), (0.004, "unchanged")],
)
def test_change_text(value, text):
    assert change_text(value) == text


@pytest.mark.parametrize("spec", FEATURES, ids=lambda spec: spec.name)
@pytest.mark.parametrize("value_of", ["example", "zero", "one"])
def test_every_registry_feature_has_a_reason_text(spec, value_of):
    value = {"example": spec.example, "zero": 0.0, "one": 1.0}[value_of]
    if spec.kind == "categorical":
        value = spec.example
    text = describe(spec.name, value, value if spec.kind == "numeric" else None)

    assert text
    assert "{" not in text
    assert "}" not in text
    # Lists of reasons are joined with "; " in the CSV export.
    assert ";" not in text
    assert ";" not in describe(spec.name, None)


# ------------------------------------------------------------ a fitted model
@pytest.fixture(scope="module")
def explained() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    model = synthetic.fitted_model()
    accounts = synthetic.holdout_table().iloc[:200].reset_index(drop=True)
    return model.explain(accounts).contributions, accounts, model.typical_values_


@pytest.mark.parametrize("direction", ["raising", "lowering"])
def test_reasons_of_a_fitted_model_follow_its_driver_sums(explained, direction):
    contributions, accounts, typical = explained
    sign = 1.0 if direction == "raising" else -1.0
    by_driver = sign * Explanation(0.0, contributions, 1.0).by_driver().contributions

    reasons = ranked_reasons(
        contributions, accounts, 3, direction=direction, typical=typical
    )

    assert any(reasons)
    for row, texts in enumerate(reasons):
        sums = by_driver.iloc[row].drop(list(DEFAULT_CONTEXT_DRIVERS))
        candidates = sums[sums > 0].sort_values(ascending=False, kind="stable")
        expected = []
        for driver in candidates.index:
            members = [f for f in driver_features(driver) if f in contributions]
            pushing = sign * contributions.loc[row, members]
            known = pushing[(pushing > 0) & accounts.loc[row, members].notna()]
            if len(known):
                feature = known.idxmax()
                expected.append(
                    describe(feature, accounts.loc[row, feature], typical.get(feature))
                )
        assert texts == expected[:3]


def test_the_api_columns_give_the_batch_reasons(explained):
    contributions, accounts, typical = explained
    columns = {name: accounts[name].to_numpy() for name in accounts.columns}

    assert ranked_reasons(contributions, columns, 3, typical=typical) == (
        ranked_reasons(contributions, accounts, 3, typical=typical)
    )


def test_a_configured_usage_feature_reads_as_a_sentence():
    assert describe("days_since_feature_errors", 12.0, 2.0) == (
        "no feature errors for 12 days (typical retained account: 2)"
    )


@pytest.mark.parametrize(
    ("currency", "expected"),
    [
        ("USD", "pays 5,609 USD per month"),
        ("EUR", "pays 5,609 EUR per month"),
        (None, "pays 5,609 per month"),
    ],
)
def test_money_reads_in_the_policys_currency(currency, expected):
    assert describe("mrr", 5609.0, currency=currency) == expected
    change = describe("mrr_change_90d", -120.0, currency=currency)
    assert change == expected.replace("pays 5,609", "MRR changed by -120").replace(
        "per month", "in 90 days"
    )
