"""The playbook: health score, rule triggers and the action per account."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from tests.models import synthetic

from churn_pipeline.features.specs import DRIVERS, DRIVERS_BY_NAME
from churn_pipeline.scoring.playbook import (
    ACTIONABLE_THEMES,
    Condition,
    Playbook,
    dominant_drivers,
    evaluate_triggers,
    health_score,
    recommend,
)


@pytest.fixture
def playbook() -> Playbook:
    return Playbook.from_params(synthetic.PLAYBOOK_PARAMS)


# ------------------------------------------------------------------ conditions
@pytest.mark.parametrize(
    ("text", "feature", "op", "threshold"),
    [
        ("days_since_last_login >= 10", "days_since_last_login", ">=", 10.0),
        ("last_nps<7", "last_nps", "<", 7.0),
        ("  tickets_7d  ==  3 ", "tickets_7d", "==", 3.0),
        ("mrr_change_90d <= -50.5", "mrr_change_90d", "<=", -50.5),
    ],
)
def test_condition_parses(text, feature, op, threshold):
    assert Condition.parse(text) == Condition(feature, op, threshold)


@pytest.mark.parametrize(
    "text", ["logins_30d", "logins_30d => 3", "logins_30d >= many", ">= 3", ""]
)
def test_a_malformed_condition_names_itself_and_the_operators(text):
    with pytest.raises(ValueError, match=r"'<feature> <operator> <number>'.*'>='"):
        Condition.parse(text)


def test_an_empty_value_never_fires_a_condition():
    features = pd.DataFrame({"last_nps": [3.0, np.nan, 9.0]})

    assert Condition.parse("last_nps < 7").holds(features).tolist() == [
        True,
        False,
        False,
    ]


@pytest.mark.parametrize(
    "values",
    [
        np.array([3.0, np.nan, 9.0]),
        np.array([3, 7, 9]),  # integers
        np.array([3.0, None, "9"], dtype=object),  # as loosely typed tables hold it
        pd.Series([3.0, None, 9.0], dtype="Float64"),  # nullable: NA is empty
    ],
)
def test_a_condition_reads_every_numeric_column_type(values):
    holds = Condition.parse("last_nps < 7").holds({"last_nps": values})

    assert holds.tolist() == [True, False, False]


# -------------------------------------------------------------------- triggers
def _account(**values: float) -> dict[str, float]:
    quiet = {
        "days_since_last_login": 1.0,
        "tickets_open_over_5d": 0.0,
        "tickets_7d": 0.0,
        "last_nps": 9.0,
        "failed_payments_30d": 0.0,
        "onboarding_features_30d": 4.0,
        "tenure_days": 400.0,
    }
    return {**quiet, **values}


@pytest.mark.parametrize(
    ("values", "fired"),
    [
        ({}, []),
        ({"days_since_last_login": 10.0}, ["no_login_10d"]),
        ({"days_since_last_login": 9.0}, []),
        ({"tickets_open_over_5d": 1.0}, ["ticket_open_over_5d"]),
        ({"tickets_7d": 3.0}, ["tickets_3_in_7d"]),
        ({"tickets_7d": 2.0}, []),
        ({"last_nps": 6.0}, ["nps_detractor"]),
        ({"last_nps": 7.0}, []),
        ({"last_nps": np.nan}, []),
        ({"failed_payments_30d": 1.0}, ["failed_payment"]),
        ({"onboarding_features_30d": 1.0, "tenure_days": 60.0}, ["missed_onboarding"]),
        # Too young to have missed the 30-day milestone.
        ({"onboarding_features_30d": 1.0, "tenure_days": 20.0}, []),
        # Past the onboarding window (the quiet account is 400 days old).
        ({"onboarding_features_30d": 1.0}, []),
        (
            {"days_since_last_login": 45.0, "failed_payments_30d": 2.0},
            ["failed_payment", "no_login_10d"],  # name order
        ),
    ],
)
def test_the_shipped_triggers(playbook, values, fired):
    flags, texts = evaluate_triggers(playbook, pd.DataFrame([_account(**values)]))

    assert [c.removeprefix("trigger_") for c in flags if flags[c][0]] == (fired)
    by_name = {t.name: t.text for t in playbook.triggers}
    assert texts == [[by_name[name] for name in fired]]


@pytest.mark.parametrize(
    ("tenure_days", "fires"),
    [(29.0, False), (30.0, True), (90.0, True), (90.5, False), (91.0, False)],
)
def test_the_onboarding_trigger_fires_only_in_its_window(playbook, tenure_days, fires):
    account = _account(onboarding_features_30d=0.0, tenure_days=tenure_days)

    flags, _ = evaluate_triggers(playbook, pd.DataFrame([account]))

    assert bool(flags["trigger_missed_onboarding"][0]) is fires


def test_no_account_past_the_onboarding_window_gets_the_trigger(playbook):
    # Every tenure from 0 to 5 years, every onboarding outcome: past 90 days
    # the trigger never fires, whatever else holds.
    tenure = np.repeat(np.arange(0.0, 5 * 365.0), 4)
    adopted = np.tile([0.0, 1.0, 2.0, np.nan], len(tenure) // 4)
    accounts = pd.DataFrame([_account()] * len(tenure)).assign(
        tenure_days=tenure, onboarding_features_30d=adopted
    )

    flags, _ = evaluate_triggers(playbook, accounts)

    fired = flags["trigger_missed_onboarding"]
    assert fired.any()
    assert tenure[fired].max() <= 90.0
    assert not fired[tenure > 90.0].any()


def test_triggers_on_absent_features_are_left_out_not_false(playbook, caplog):
    without_nps = pd.DataFrame([_account()]).drop(columns="last_nps")

    with caplog.at_level("INFO"):
        flags, _ = evaluate_triggers(playbook, without_nps)

    assert "trigger_nps_detractor" not in flags
    assert "trigger_no_login_10d" in flags
    assert "nps_detractor" in caplog.text


def test_trigger_flags_align_by_position(playbook):
    table = pd.DataFrame([_account(), _account(tickets_7d=5.0)], index=[40, 12])

    flags, texts = evaluate_triggers(playbook, table)

    assert flags["trigger_tickets_3_in_7d"].tolist() == [False, True]
    assert texts[0] == []


# --------------------------------------------------------------------- actions
def _contributions(**by_feature: float) -> pd.DataFrame:
    columns = [
        "logins_7d",
        "logins_30d",
        "active_days_30d",
        "failed_payments_30d",
        "tickets_open",
        "mrr",
        "country",
    ]
    row = {c: 0.0 for c in columns} | by_feature
    return pd.DataFrame([row])


@pytest.mark.parametrize(
    ("contributions", "driver", "churn_type"),
    [
        ({"logins_30d": 0.9, "failed_payments_30d": 0.4}, "logins", "voluntary"),
        ({"logins_30d": 0.2, "failed_payments_30d": 0.4}, "payments", "involuntary"),
        ({"tickets_open": 0.3, "mrr": -1.0}, "support_tickets", "voluntary"),
        ({"mrr": 0.1, "logins_30d": -0.5}, "plan_and_price", "voluntary"),
        # Who the customer is calls for no action.
        ({"country": 2.0, "mrr": 0.1}, "plan_and_price", "voluntary"),
        ({"country": 2.0}, "none", "voluntary"),
        ({"logins_30d": -0.3}, "none", "voluntary"),
    ],
)
def test_action_follows_the_dominant_drivers_theme(
    playbook, contributions, driver, churn_type
):
    advice = {
        k: v[0] for k, v in recommend(playbook, _contributions(**contributions)).items()
    }

    assert advice["dominant_driver"] == driver
    assert advice["likely_churn_type"] == churn_type
    action = (
        playbook.actions[DRIVERS_BY_NAME[driver].theme]
        if driver != "none"
        else playbook.default_action
    )
    assert advice["recommended_action"] == action.action
    assert advice["owner_role"] == action.owner


def test_a_drivers_features_add_up_and_cancel():
    # Two small login contributions outweigh one larger payment contribution...
    adding = _contributions(logins_7d=0.3, logins_30d=0.3, failed_payments_30d=0.5)
    # ...but not when they disagree: the driver's net sum counts.
    cancelling = _contributions(logins_7d=0.6, logins_30d=-0.4, failed_payments_30d=0.5)

    assert dominant_drivers(adding).tolist() == ["logins"]
    assert dominant_drivers(cancelling).tolist() == ["payments"]


def test_drivers_of_one_theme_stay_apart():
    # Logins and activity are both usage, but each is a driver of its own.
    contributions = _contributions(
        logins_30d=0.3, active_days_30d=0.3, failed_payments_30d=0.5
    )

    assert dominant_drivers(contributions).tolist() == ["payments"]


def test_context_drivers_are_configuration(playbook):
    contributions = _contributions(failed_payments_30d=0.5, tickets_open=0.2)

    advice = recommend(playbook, contributions, ["payments"])

    assert advice["dominant_driver"].tolist() == ["support_tickets"]
    assert advice["recommended_action"][0] == playbook.actions["support"].action


def test_profile_drivers_never_dominate_even_outside_the_context():
    contributions = _contributions(country=2.0, logins_30d=0.1)

    assert dominant_drivers(contributions, context=()).tolist() == ["logins"]


def test_a_table_of_profile_columns_only_has_no_dominant_driver(playbook):
    # A customer table's columns are drivers of their own, theme profile.
    contributions = pd.DataFrame({"Contract": [0.7, -0.2], "tenure": [0.1, 0.3]})

    advice = recommend(playbook, contributions)

    assert advice["dominant_driver"].tolist() == ["none", "none"]
    assert advice["recommended_action"].tolist() == [playbook.default_action.action] * 2


def test_every_theme_but_profile_has_an_action(playbook):
    assert set(playbook.actions) == set(ACTIONABLE_THEMES)
    assert {d.theme for d in DRIVERS} == {*ACTIONABLE_THEMES, "profile"}


# ---------------------------------------------------------------- parameters
def test_playbook_round_trips_through_its_parameters(playbook):
    assert Playbook.from_params(playbook.to_dict()) == playbook


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p["actions"].pop("payment"), r"missing: \['payment'\]"),
        (
            lambda p: p["actions"].update(pricing=p["actions"]["usage"]),
            r"unknown: \['pricing'\]",
        ),
        (lambda p: p["triggers"]["no_login_10d"].update(when=[]), "no_login_10d"),
        (
            lambda p: p["triggers"]["no_login_10d"].update(when=["days > ten"]),
            "days > ten",
        ),
    ],
)
def test_bad_parameters_are_named(change, message):
    params = copy.deepcopy(synthetic.PLAYBOOK_PARAMS)
    change(params)

    with pytest.raises(ValueError, match=message):
        Playbook.from_params(params)


# ------------------------------------------------------------------ health
@pytest.mark.parametrize(
    ("probability", "health"),
    [(0.0, 100.0), (0.05, 70.0), (0.10, 55.0), (0.15, 40.0), (1.0, 0.0)],
)
def test_health_score_anchors_on_the_bands(probability, health):
    score = health_score(np.array([probability]), yellow_from=0.05, red_from=0.15)

    assert score[0] == pytest.approx(health)


def test_health_score_falls_as_risk_rises():
    probability = np.linspace(0, 1, 501)

    score = health_score(probability, yellow_from=0.05, red_from=0.15)

    assert (np.diff(score) < 0).all()


def test_a_configured_usage_column_dominates_with_the_usage_action(playbook):
    # feature_errors is no registry column: its features share a usage driver.
    contributions = pd.DataFrame(
        {
            "feature_errors_30d": [0.4],
            "days_since_feature_errors": [0.3],
            "failed_payments_30d": [0.5],
        }
    )

    advice = recommend(playbook, contributions)

    assert advice["dominant_driver"].tolist() == ["feature_errors"]
    assert advice["recommended_action"][0] == playbook.actions["usage"].action
