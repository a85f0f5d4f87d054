"""Scoring policy, risk bands, reasons and the shared scoring function."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.models import synthetic

from churn_pipeline.metrics import expected_contact_profit
from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.scoring import (
    ScoringPolicy,
    describe,
    risk_band,
    score_accounts,
    top_reasons,
)

SCORE_COLUMNS = [
    "account_id",
    "churn_probability",
    "risk_band",
    "top_reasons",
    "expected_contact_profit",
    "contact",
]


def _policy(**overrides: Any) -> ScoringPolicy:
    values: dict[str, Any] = {
        "yellow_from": 0.05,
        "red_from": 0.15,
        "contact_threshold": 11 / 67,
        "n_reasons": 3,
        "clv": 200.0,
        "incentive_cost": 10.0,
        "contact_cost": 1.0,
        "accept_rate": 0.3,
    }
    values.update(overrides)
    return ScoringPolicy(**values)


@pytest.fixture(scope="module")
def model() -> ChurnEnsemble:
    return synthetic.fitted_model()


@pytest.fixture
def accounts() -> pd.DataFrame:
    """300 later accounts, with a non-default index."""
    table = synthetic.holdout_table().iloc[1000:1300]
    return table.set_index(pd.Index(range(5000, 5300)))


# ------------------------------------------------------------------ risk bands
@pytest.mark.parametrize(
    ("probability", "band"),
    [
        (0.0, "green"),
        (0.04999999, "green"),
        (0.05, "yellow"),
        (0.10, "yellow"),
        (0.14999999, "yellow"),
        (0.15, "red"),
        (0.5, "red"),
        (1.0, "red"),
    ],
)
def test_risk_band_boundaries(probability: float, band: str) -> None:
    assert risk_band(np.array([probability]), _policy())[0] == band


def test_risk_band_is_vectorised() -> None:
    bands = risk_band(np.array([0.01, 0.05, 0.2, 0.149]), _policy())

    assert bands.tolist() == ["green", "yellow", "red", "yellow"]


# ---------------------------------------------------------------------- policy
@pytest.mark.parametrize(
    ("yellow_from", "red_from"),
    [(0.0, 0.15), (0.15, 0.15), (0.2, 0.1), (0.05, 1.0), (-0.1, 0.5), (0.5, 1.5)],
)
def test_policy_rejects_bad_bands(yellow_from: float, red_from: float) -> None:
    with pytest.raises(ValueError, match="0 < yellow_from < red_from < 1") as error:
        _policy(yellow_from=yellow_from, red_from=red_from)

    assert f"yellow_from={yellow_from}" in str(error.value)


@pytest.mark.parametrize("threshold", [-0.01, 1.5, float("nan")])
def test_policy_rejects_a_contact_threshold_outside_0_1(threshold: float) -> None:
    with pytest.raises(ValueError, match="contact_threshold is a probability"):
        _policy(contact_threshold=threshold)


@pytest.mark.parametrize("n_reasons", [0, -1])
def test_policy_rejects_no_reasons(n_reasons: int) -> None:
    with pytest.raises(ValueError, match=f"n_reasons must be >= 1, got {n_reasons}"):
        _policy(n_reasons=n_reasons)


def test_from_params_defaults_give_eleven_sixty_sevenths() -> None:
    policy = ScoringPolicy.from_params(
        synthetic.SCORING_PARAMS, synthetic.PROFIT_PARAMS
    )

    # gamma = 6 / 20 = 0.3; p* = (10 + 1) / (0.3 * 190 + 10) = 11 / 67.
    assert policy.contact_threshold == pytest.approx(11 / 67, rel=1e-15)
    assert policy.accept_rate == pytest.approx(0.3, rel=1e-15)
    assert (policy.yellow_from, policy.red_from, policy.n_reasons) == (0.05, 0.15, 3)
    assert (policy.clv, policy.incentive_cost, policy.contact_cost) == (
        200.0,
        10.0,
        1.0,
    )


@pytest.mark.parametrize(
    ("clv", "d", "f", "alpha", "beta"),
    [
        (200.0, 10.0, 1.0, 6.0, 14.0),
        (500.0, 20.0, 5.0, 2.0, 2.0),
        (100.0, 0.0, 2.0, 1.0, 9.0),
        (1000.0, 50.0, 0.0, 3.0, 7.0),
    ],
)
def test_from_params_threshold_formula(
    clv: float, d: float, f: float, alpha: float, beta: float
) -> None:
    profit = {
        "clv": clv,
        "incentive_cost": d,
        "contact_cost": f,
        "alpha": alpha,
        "beta": beta,
        # Deliberately different: the threshold uses alpha / (alpha + beta).
        "accept_rate": 0.99,
    }

    policy = ScoringPolicy.from_params(synthetic.SCORING_PARAMS, profit)

    gamma = alpha / (alpha + beta)
    assert policy.accept_rate == pytest.approx(gamma)
    assert policy.contact_threshold == pytest.approx(
        (d + f) / (gamma * (clv - d) + d), rel=1e-12
    )
    # At p*, contacting breaks even.
    assert expected_contact_profit(
        policy.contact_threshold,
        clv=clv,
        incentive_cost=d,
        contact_cost=f,
        accept_rate=gamma,
    ) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.9])
def test_from_params_honours_a_fixed_threshold(threshold: float) -> None:
    scoring = copy.deepcopy(synthetic.SCORING_PARAMS)
    scoring["contact_threshold"] = threshold

    policy = ScoringPolicy.from_params(scoring, synthetic.PROFIT_PARAMS)

    assert policy.contact_threshold == threshold


def test_policy_round_trips_through_a_dict() -> None:
    policy = ScoringPolicy.from_params(
        synthetic.SCORING_PARAMS, synthetic.PROFIT_PARAMS
    )

    assert ScoringPolicy(**policy.to_dict()) == policy


# --------------------------------------------------------------------- reasons
def _reason_inputs() -> tuple[pd.DataFrame, pd.DataFrame]:
    columns = [
        "logins_30d",
        "days_since_last_login",
        "tickets_open_over_5d",
        "failed_payments_90d",
        "last_nps",
    ]
    contributions = pd.DataFrame(
        [
            [0.10, 0.80, 0.30, -0.20, 0.05],  # four positive drivers
            [-0.50, -0.10, 0.00, -0.30, -0.01],  # nothing raises risk
            [0.00, 0.20, -0.40, 0.00, 0.60],  # two positive, NPS unknown
        ],
        columns=columns,
    )
    features = pd.DataFrame(
        [
            [12.0, 23.0, 2.0, 0.0, 4.0],
            [90.0, 0.0, 0.0, 0.0, 10.0],
            [40.0, 5.0, 1.0, 1.0, np.nan],
        ],
        columns=columns,
    )
    return contributions, features


def test_top_reasons_only_risk_raising_strongest_first() -> None:
    contributions, features = _reason_inputs()

    reasons = top_reasons(contributions, features, n_reasons=3)

    assert reasons == [
        [
            "no login for 23 days",
            "2 support tickets open for more than 5 days",
            "12 logins in the last 30 days",
        ],
        [],
        [
            "Most recent NPS score (0-10); empty when never answered: unknown",
            "no login for 5 days",
        ],
    ]


@pytest.mark.parametrize("n_reasons", [1, 2, 4, 10])
def test_top_reasons_at_most_n(n_reasons: int) -> None:
    contributions, features = _reason_inputs()

    reasons = top_reasons(contributions, features, n_reasons=n_reasons)

    positives = (contributions > 0).sum(axis=1).tolist()
    assert [len(r) for r in reasons] == [min(n_reasons, p) for p in positives]
    assert reasons[0][0] == "no login for 23 days"


@pytest.mark.parametrize(
    ("feature", "value", "text"),
    [
        ("failed_payments_90d", 2.0, "2 failed payments in the last 90 days"),
        ("discount_pct", 0.25, "discount of 25%"),
        ("plan", "pro", "on the pro plan"),
        (
            "last_nps",
            None,
            "Most recent NPS score (0-10); empty when never answered: unknown",
        ),
    ],
)
def test_describe(feature: str, value: object, text: str) -> None:
    assert describe(feature, value) == text


# ---------------------------------------------------------------------- scores
def test_score_accounts_columns_and_order(
    model: ChurnEnsemble, accounts: pd.DataFrame
) -> None:
    policy = _policy()

    scores = score_accounts(model, accounts, policy)

    assert list(scores.columns) == SCORE_COLUMNS
    assert scores["account_id"].tolist() == accounts["account_id"].tolist()
    probability = model.predict_proba(accounts)[:, 1]
    np.testing.assert_array_equal(scores["churn_probability"], probability)
    assert scores["risk_band"].tolist() == risk_band(probability, policy).tolist()
    assert scores["contact"].dtype == bool
    np.testing.assert_array_equal(
        scores["contact"], probability >= policy.contact_threshold
    )
    np.testing.assert_allclose(
        scores["expected_contact_profit"],
        expected_contact_profit(
            probability,
            clv=policy.clv,
            incentive_cost=policy.incentive_cost,
            contact_cost=policy.contact_cost,
            accept_rate=policy.accept_rate,
        ),
    )
    # Both decisions occur, so the comparison above is not trivial.
    assert scores["contact"].any()
    assert not scores["contact"].all()


def test_contact_threshold_is_inclusive(
    model: ChurnEnsemble, accounts: pd.DataFrame
) -> None:
    probability = model.predict_proba(accounts)[:, 1]
    threshold = float(np.sort(probability)[len(probability) // 2])

    scores = score_accounts(model, accounts, _policy(contact_threshold=threshold))

    at_threshold = scores["churn_probability"] == threshold
    assert at_threshold.any()
    assert scores.loc[at_threshold, "contact"].all()
    np.testing.assert_array_equal(scores["contact"], probability >= threshold)


def test_score_accounts_reasons_follow_the_explanation(
    model: ChurnEnsemble, accounts: pd.DataFrame
) -> None:
    policy = _policy(n_reasons=2)
    explanation = model.explain(accounts)

    scores = score_accounts(model, accounts, policy, explanation)
    recomputed = score_accounts(model, accounts, policy)

    pd.testing.assert_frame_equal(scores, recomputed)
    expected = top_reasons(
        explanation.contributions.reset_index(drop=True),
        accounts.reset_index(drop=True),
        2,
    )
    assert scores["top_reasons"].tolist() == expected
    assert all(len(r) <= 2 for r in expected)
    # Row 0's reasons are its own strongest positive drivers.
    first = explanation.contributions.iloc[0]
    strongest = first[first > 0].sort_values(ascending=False).index[:2]
    assert expected[0] == [describe(f, accounts.iloc[0][f]) for f in strongest]


def test_score_accounts_does_not_depend_on_the_index(
    model: ChurnEnsemble, accounts: pd.DataFrame
) -> None:
    policy = _policy()

    scores = score_accounts(model, accounts, policy)
    reindexed = score_accounts(model, accounts.reset_index(drop=True), policy)

    pd.testing.assert_frame_equal(scores, reindexed)
