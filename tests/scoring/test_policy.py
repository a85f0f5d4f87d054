"""The scoring policy: risk bands, parameters, value basis and lifetimes."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from tests.models import synthetic
from tests.scoring.policies import (
    OLD_POLICY_DICT,
    make_per_account,
    make_policy,
    scoring_params,
)

from churn_pipeline.evaluation.economics import RetentionEconomics
from churn_pipeline.features.specs import DEFAULT_CONTEXT_DRIVERS
from churn_pipeline.scoring.context import DEFAULT_ACCOUNT_CONTEXT
from churn_pipeline.scoring.playbook import Playbook
from churn_pipeline.scoring.policy import (
    ScoringPolicy,
    expected_contact_profit,
    lifetime_from_params,
    risk_band,
)
from churn_pipeline.scoring.value import expected_lifetime_months


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
    assert risk_band(np.array([probability]), make_policy())[0] == band


def test_risk_band_is_vectorised() -> None:
    bands = risk_band(np.array([0.01, 0.05, 0.2, 0.149]), make_policy())

    assert bands.tolist() == ["green", "yellow", "red", "yellow"]


# ---------------------------------------------------------------------- policy
@pytest.mark.parametrize(
    ("yellow_from", "red_from"),
    [(0.0, 0.15), (0.15, 0.15), (0.2, 0.1), (0.05, 1.0), (-0.1, 0.5), (0.5, 1.5)],
)
def test_policy_rejects_bad_bands(yellow_from: float, red_from: float) -> None:
    with pytest.raises(ValueError, match="0 < yellow_from < red_from < 1") as error:
        make_policy(yellow_from=yellow_from, red_from=red_from)

    assert f"yellow_from={yellow_from}" in str(error.value)


@pytest.mark.parametrize("threshold", [-0.01, 1.5, float("nan")])
def test_policy_rejects_a_contact_threshold_outside_0_1(threshold: float) -> None:
    with pytest.raises(ValueError, match="contact_threshold is a probability"):
        make_policy(contact_threshold=threshold)


@pytest.mark.parametrize("n_reasons", [0, -1])
def test_policy_rejects_no_reasons(n_reasons: int) -> None:
    with pytest.raises(ValueError, match=f"n_reasons must be >= 1, got {n_reasons}"):
        make_policy(n_reasons=n_reasons)


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
        RetentionEconomics(
            clv=clv, incentive_cost=d, contact_cost=f, accept_rate=gamma
        ),
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
        "context_drivers": list(DEFAULT_CONTEXT_DRIVERS),
        "incentive_basis": "fixed",
        "currency": None,
        "account_context": DEFAULT_ACCOUNT_CONTEXT,
        "untargeted_action_bands": ["red"],
    }


@pytest.mark.parametrize("basis", ["Fixed", "per-account", "mrr", ""])
def test_policy_rejects_an_unknown_clv_basis(basis: str) -> None:
    with pytest.raises(
        ValueError,
        match=f"clv_basis must be one of 'fixed', 'per_account', got '{basis}'",
    ):
        make_policy(clv_basis=basis)


def test_per_account_policy_needs_a_lifetime() -> None:
    with pytest.raises(ValueError, match="'per_account' needs lifetime_months"):
        make_policy(clv_basis="per_account")


@pytest.mark.parametrize("lifetime", [0.0, -1.0, float("nan"), float("inf")])
def test_policy_rejects_a_bad_lifetime(lifetime: float) -> None:
    with pytest.raises(ValueError, match="lifetime_months must be finite and > 0"):
        make_per_account(lifetime_months=lifetime)


@pytest.mark.parametrize("margin", [0.0, 1.5, float("nan")])
def test_policy_rejects_a_bad_gross_margin(margin: float) -> None:
    with pytest.raises(ValueError, match=r"gross_margin must be in \(0, 1\]"):
        make_per_account(gross_margin=margin)


def test_from_params_without_a_value_block_is_fixed() -> None:
    policy = ScoringPolicy.from_params(
        synthetic.SCORING_PARAMS, synthetic.PROFIT_PARAMS
    )

    assert policy == ScoringPolicy(
        **OLD_POLICY_DICT, playbook=Playbook.from_params(synthetic.PLAYBOOK_PARAMS)
    )


def test_from_params_per_account() -> None:
    policy = ScoringPolicy.from_params(
        scoring_params(gross_margin=0.6), synthetic.PROFIT_PARAMS, lifetime_months=18
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
        ScoringPolicy.from_params(scoring_params(), synthetic.PROFIT_PARAMS)


def test_from_params_rejects_a_fixed_threshold_with_per_account() -> None:
    scoring = {**scoring_params(), "contact_threshold": 0.3}

    with pytest.raises(ValueError, match=r"contact_threshold applies to .* 'fixed'"):
        ScoringPolicy.from_params(scoring, synthetic.PROFIT_PARAMS, lifetime_months=12)


def test_from_params_rejects_an_unknown_basis() -> None:
    with pytest.raises(ValueError, match="clv_basis must be one of"):
        ScoringPolicy.from_params(
            scoring_params(basis="monthly"), synthetic.PROFIT_PARAMS
        )


def test_lifetime_from_params() -> None:
    labels = pd.Series([1.0, 0.0, 0.0, 0.0])

    lifetime = lifetime_from_params(scoring_params(horizon_days=30), labels)

    # p = 0.25 in 30 days: 1 / (1 - 0.75 ** (30.4375 / 30)).
    assert lifetime == pytest.approx(3.950384256384216, rel=1e-12)
    assert lifetime == expected_lifetime_months(labels, horizon_days=30, max_months=36)
    assert lifetime_from_params(synthetic.SCORING_PARAMS, labels) is None
    fixed = scoring_params(basis="fixed")
    assert lifetime_from_params(fixed, labels) is None


def test_lifetime_from_params_applies_the_cap() -> None:
    labels = np.zeros(10)

    assert lifetime_from_params(scoring_params(max_lifetime_months=9), labels) == 9.0


# ------------------------------------------------------------------- economics
def test_policy_economics_carries_its_costs() -> None:
    policy = ScoringPolicy.from_params(
        synthetic.SCORING_PARAMS, {**synthetic.PROFIT_PARAMS, "accept_rate": 0.9}
    )

    # The policy decides at the Beta mean, not at the MPC accept rate.
    assert policy.economics == RetentionEconomics(
        clv=200.0, incentive_cost=10.0, contact_cost=1.0, accept_rate=6.0 / 20.0
    )


@pytest.mark.parametrize(
    ("costs", "message"),
    [
        ({"clv": 10.0}, "clv must be greater than incentive_cost"),
        ({"contact_cost": -1.0}, "contact_cost must be >= 0"),
        ({"accept_rate": 0.0}, "0 < accept_rate <= 1"),
    ],
)
def test_policy_refuses_impossible_costs_when_built(
    costs: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_policy(**costs)


# ------------------------------------------------- list fields: money, context
def test_from_params_reads_currency_context_bands_and_incentive() -> None:
    scoring = {
        **scoring_params(incentive="proportional"),
        "currency": "EUR",
        "account_context": {"mrr": "MonthlyCharges", "account_owner": "csm"},
        "untargeted_action_bands": ["yellow", "red"],
    }

    policy = ScoringPolicy.from_params(
        scoring, synthetic.PROFIT_PARAMS, lifetime_months=12
    )

    assert policy.currency == "EUR"
    assert policy.incentive_basis == "proportional"
    assert policy.mrr_column == "MonthlyCharges"
    assert policy.account_context == {
        **DEFAULT_ACCOUNT_CONTEXT,
        "mrr": "MonthlyCharges",
        "account_owner": "csm",
    }
    assert policy.untargeted_action_bands == ["yellow", "red"]
    assert ScoringPolicy.from_dict(policy.to_dict()) == policy


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("currency", "usd", "3-letter ISO 4217 code"),
        ("currency", "EURO", "3-letter ISO 4217 code"),
        ("incentive_basis", "share", r"incentive_basis must be one of"),
        ("untargeted_action_bands", ["orange"], r"unknown \['orange'\]"),
        ("account_context", {"owner": "csm"}, r"unknown fields \['owner'\]"),
    ],
)
def test_policy_rejects_bad_list_fields(
    field: str, value: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_policy(**{field: value})


@pytest.mark.parametrize(
    ("basis", "clv", "incentive"),
    [
        ("fixed", [100.0, 400.0, 0.0], [10.0, 10.0, 10.0]),
        # Scaled by CLV / the typical 200.
        ("proportional", [100.0, 400.0, 0.0], [5.0, 20.0, 0.0]),
    ],
)
def test_incentive_per_account(
    basis: str, clv: list[float], incentive: list[float]
) -> None:
    policy = make_per_account(incentive_basis=basis)

    np.testing.assert_allclose(policy.incentive(np.asarray(clv)), incentive)
