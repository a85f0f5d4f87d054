"""Scoring policy, risk bands, reasons and the shared scoring function."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.models import synthetic

from churn_pipeline.evaluation.metrics import expected_contact_profit
from churn_pipeline.models import ChurnEnsemble, Explanation
from churn_pipeline.scoring.accounts import (
    ScoringPolicy,
    lifetime_from_params,
    risk_band,
    score_accounts,
)
from churn_pipeline.scoring.playbook import Playbook
from churn_pipeline.scoring.reasons import describe, ranked_reasons
from churn_pipeline.scoring.value import expected_lifetime_months

SCORE_COLUMNS = [
    "account_id",
    "churn_probability",
    "health_score",
    "risk_band",
    "top_reasons",
    "risk_lowering_reasons",
    "account_clv",
    "expected_contact_profit",
    "contact",
]
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


def _policy(**overrides: Any) -> ScoringPolicy:
    values: dict[str, Any] = dict(OLD_POLICY_DICT)
    values.update(overrides)
    return ScoringPolicy(**values)


def _per_account(**overrides: Any) -> ScoringPolicy:
    return _policy(
        **{
            "clv_basis": "per_account",
            "gross_margin": 0.8,
            "lifetime_months": 24.0,
            **overrides,
        }
    )


def _scoring_params(**value: Any) -> dict[str, Any]:
    return {**synthetic.SCORING_PARAMS, "value": {**VALUE_PARAMS, **value}}


class _FixedModel:
    """Stands in for the ensemble: given probabilities, whatever the features."""

    def __init__(self, probability: list[float]) -> None:
        self.probability = np.asarray(probability, dtype=float)

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        assert len(features) == len(self.probability)
        return np.column_stack([1 - self.probability, self.probability])


def _score_fixed(
    probability: list[float], mrr: list[float], policy: ScoringPolicy
) -> pd.DataFrame:
    features = pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(len(mrr))],
            "mrr": mrr,
            "logins_30d": 1.0,
        }
    )
    explanation = Explanation(
        base_value=0.0,
        contributions=pd.DataFrame({"mrr": 0.0, "logins_30d": [0.0] * len(mrr)}),
        calibration_slope=1.0,
    )
    return score_accounts(
        _FixedModel(probability),  # type: ignore[arg-type]
        features,
        policy,
        explanation,
    )


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

    assert ScoringPolicy.from_dict(policy.to_dict()) == policy


# ------------------------------------------------------------------ value basis
def test_an_old_stored_policy_loads_as_fixed_clv() -> None:
    policy = ScoringPolicy.from_dict(OLD_POLICY_DICT)

    assert policy.clv_basis == "fixed"
    assert policy.lifetime_months is None
    assert policy.to_dict() == {
        **OLD_POLICY_DICT,
        "clv_basis": "fixed",
        "gross_margin": 0.8,
        "lifetime_months": None,
        "playbook": None,
    }


@pytest.mark.parametrize("basis", ["Fixed", "per-account", "mrr", ""])
def test_policy_rejects_an_unknown_clv_basis(basis: str) -> None:
    with pytest.raises(
        ValueError,
        match=f"clv_basis must be one of 'fixed', 'per_account', got '{basis}'",
    ):
        _policy(clv_basis=basis)


def test_per_account_policy_needs_a_lifetime() -> None:
    with pytest.raises(ValueError, match="'per_account' needs lifetime_months"):
        _policy(clv_basis="per_account")


@pytest.mark.parametrize("lifetime", [0.0, -1.0, float("nan"), float("inf")])
def test_policy_rejects_a_bad_lifetime(lifetime: float) -> None:
    with pytest.raises(ValueError, match="lifetime_months must be finite and > 0"):
        _per_account(lifetime_months=lifetime)


@pytest.mark.parametrize("margin", [0.0, 1.5, float("nan")])
def test_policy_rejects_a_bad_gross_margin(margin: float) -> None:
    with pytest.raises(ValueError, match=r"gross_margin must be in \(0, 1\]"):
        _per_account(gross_margin=margin)


def test_from_params_without_a_value_block_is_fixed() -> None:
    policy = ScoringPolicy.from_params(
        synthetic.SCORING_PARAMS, synthetic.PROFIT_PARAMS
    )

    assert policy == ScoringPolicy(
        **OLD_POLICY_DICT, playbook=Playbook.from_params(synthetic.PLAYBOOK_PARAMS)
    )


def test_from_params_per_account() -> None:
    policy = ScoringPolicy.from_params(
        _scoring_params(gross_margin=0.6), synthetic.PROFIT_PARAMS, lifetime_months=18
    )

    assert (policy.clv_basis, policy.gross_margin, policy.lifetime_months) == (
        "per_account",
        0.6,
        18.0,
    )
    assert policy.contact_threshold == pytest.approx(11 / 67, rel=1e-15)
    assert ScoringPolicy.from_dict(policy.to_dict()) == policy


def test_from_params_per_account_needs_a_lifetime() -> None:
    with pytest.raises(
        ValueError, match="basis is 'per_account': pass lifetime_months"
    ):
        ScoringPolicy.from_params(_scoring_params(), synthetic.PROFIT_PARAMS)


def test_from_params_rejects_a_fixed_threshold_with_per_account() -> None:
    scoring = {**_scoring_params(), "contact_threshold": 0.3}

    with pytest.raises(ValueError, match=r"contact_threshold applies to .* 'fixed'"):
        ScoringPolicy.from_params(scoring, synthetic.PROFIT_PARAMS, lifetime_months=12)


def test_from_params_rejects_an_unknown_basis() -> None:
    with pytest.raises(ValueError, match="clv_basis must be one of"):
        ScoringPolicy.from_params(
            _scoring_params(basis="monthly"), synthetic.PROFIT_PARAMS
        )


def test_lifetime_from_params() -> None:
    labels = pd.Series([1.0, 0.0, 0.0, 0.0])

    lifetime = lifetime_from_params(_scoring_params(horizon_days=30), labels)

    # p = 0.25 in 30 days: 1 / (1 - 0.75 ** (30.4375 / 30)).
    assert lifetime == pytest.approx(3.950384256384216, rel=1e-12)
    assert lifetime == expected_lifetime_months(labels, horizon_days=30, max_months=36)
    assert lifetime_from_params(synthetic.SCORING_PARAMS, labels) is None
    fixed = _scoring_params(basis="fixed")
    assert lifetime_from_params(fixed, labels) is None


def test_lifetime_from_params_applies_the_cap() -> None:
    labels = np.zeros(10)

    assert lifetime_from_params(_scoring_params(max_lifetime_months=9), labels) == 9.0


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
    assert (scores["account_clv"] == policy.clv).all()
    # Both decisions occur, so the comparison above is not trivial.
    assert scores["contact"].any()
    assert not scores["contact"].all()


def test_an_old_stored_policy_scores_as_before(
    model: ChurnEnsemble, accounts: pd.DataFrame
) -> None:
    scores = score_accounts(model, accounts, ScoringPolicy(**OLD_POLICY_DICT))

    probability = model.predict_proba(accounts)[:, 1]
    np.testing.assert_array_equal(scores["contact"], probability >= 11 / 67)
    np.testing.assert_allclose(
        scores["expected_contact_profit"],
        expected_contact_profit(probability, clv=200.0),
    )


def test_score_accounts_per_account(
    model: ChurnEnsemble, accounts: pd.DataFrame
) -> None:
    policy = _per_account(gross_margin=0.5, lifetime_months=6.0)

    scores = score_accounts(model, accounts, policy)

    assert list(scores.columns) == SCORE_COLUMNS
    assert scores["account_id"].tolist() == accounts["account_id"].tolist()
    clv = accounts["mrr"].to_numpy() * 0.5 * 6.0
    np.testing.assert_allclose(scores["account_clv"], clv, rtol=1e-15)
    probability = model.predict_proba(accounts)[:, 1]
    np.testing.assert_allclose(
        scores["expected_contact_profit"],
        expected_contact_profit(
            probability,
            clv=clv,
            incentive_cost=10.0,
            contact_cost=1.0,
            accept_rate=0.3,
        ),
        rtol=1e-12,
    )
    assert scores["contact"].dtype == bool
    np.testing.assert_array_equal(
        scores["contact"], scores["expected_contact_profit"] > 0
    )
    # Targeting by value differs from targeting by rank in both directions.
    by_rank = probability >= policy.contact_threshold
    assert (scores["contact"] & ~by_rank).any()
    assert (~scores["contact"] & by_rank).any()


@pytest.mark.parametrize("mrr", [[100.0, 200.0], [20.0, 21.0], [1.0, 5000.0]])
@pytest.mark.parametrize("probability", [0.05, 0.3, 0.9])
def test_higher_mrr_gives_higher_expected_profit(
    mrr: list[float], probability: float
) -> None:
    scores = _score_fixed([probability] * 2, mrr, _per_account())

    assert scores["account_clv"].iloc[1] > scores["account_clv"].iloc[0]
    profit = scores["expected_contact_profit"]
    assert profit.iloc[1] > profit.iloc[0]


@pytest.mark.parametrize(
    ("probability", "mrr", "profit", "contact"),
    [
        # CLV = 100 x 0.5 x 10 = 500: 0.5 x 0.3 x 490 - 0.5 x 10 - 1.
        (0.5, 100.0, 67.5, True),
        # CLV 5 is below the incentive: 0.5 x 0.3 x (5 - 10) - 5 - 1.
        (0.5, 1.0, -6.75, False),
        # CLV 0 (no MRR): 0.2 x 0.3 x -10 - 0.8 x 10 - 1.
        (0.2, 0.0, -9.6, False),
        # CLV 50: 0.2 x 0.3 x 40 - 8 - 1 = -6.6, although p is above 11/67.
        (0.2, 10.0, -6.6, False),
        # CLV 5,000: 0.1 x 0.3 x 4,990 - 9 - 1 = 139.7, although p is below 11/67.
        (0.1, 1000.0, 139.7, True),
    ],
)
def test_per_account_profit_hand_computed(
    probability: float, mrr: float, profit: float, contact: bool
) -> None:
    policy = _per_account(gross_margin=0.5, lifetime_months=10.0)

    scores = _score_fixed([probability], [mrr], policy)

    assert scores["expected_contact_profit"].iloc[0] == pytest.approx(profit)
    assert scores["contact"].iloc[0] == contact


def test_per_account_needs_the_mrr_column(
    model: ChurnEnsemble, accounts: pd.DataFrame
) -> None:
    policy = _per_account()
    explanation = model.explain(accounts)

    with pytest.raises(ValueError, match="from the 'mrr' column"):
        score_accounts(model, accounts.drop(columns="mrr"), policy, explanation)


def test_per_account_names_accounts_with_a_bad_mrr() -> None:
    with pytest.raises(
        ValueError, match="mrr must be finite and >= 0; 1 of 3"
    ) as error:
        _score_fixed([0.1, 0.2, 0.3], [10.0, np.nan, 30.0], _per_account())

    assert "A1: nan" in str(error.value)


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
    expected = ranked_reasons(
        explanation.contributions.reset_index(drop=True),
        accounts.reset_index(drop=True),
        2,
        typical=model.typical_values_,
    )
    assert scores["top_reasons"].tolist() == expected
    assert all(len(r) <= 2 for r in expected)
    # Row 0's reasons are its own strongest drivers each way.
    first, row = explanation.contributions.iloc[0], accounts.iloc[0]
    strongest = first[first > 0].sort_values(ascending=False).index[:2]
    assert expected[0] == [
        describe(f, row[f], model.typical_values_.get(f)) for f in strongest
    ]
    protective = first[first < 0].sort_values().index[:2]
    assert scores["risk_lowering_reasons"].iloc[0] == [
        describe(f, row[f], model.typical_values_.get(f)) for f in protective
    ]


def test_score_accounts_does_not_depend_on_the_index(
    model: ChurnEnsemble, accounts: pd.DataFrame
) -> None:
    policy = _policy()

    scores = score_accounts(model, accounts, policy)
    reindexed = score_accounts(model, accounts.reset_index(drop=True), policy)

    pd.testing.assert_frame_equal(scores, reindexed)
