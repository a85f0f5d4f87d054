"""Contract events from subscription periods and churn events."""

from __future__ import annotations

import pandas as pd
import pytest

from churn_pipeline.ingestion import account_terms, derive_subscription_events

PLANS = ["basic", "pro", "enterprise"]


def _periods(*rows: tuple[str, str, str, str, int, float]) -> pd.DataFrame:
    return pd.DataFrame(
        rows,
        columns=["subscription_id", "account_id", "start_date", "plan", "seats", "mrr"],
    ).assign(
        start_date=lambda df: pd.to_datetime(df["start_date"]),
        billing_cycle="monthly",
    )


def _churns(*rows: tuple[str, str, str, bool]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows, columns=["churn_event_id", "account_id", "churn_date", "is_reactivation"]
    )
    return frame.assign(
        churn_date=pd.to_datetime(frame["churn_date"]),
        churn_type="voluntary",
        reason="pricing",
    )


NO_CHURNS = _churns()


def _derive(periods: pd.DataFrame, churns: pd.DataFrame = NO_CHURNS):
    return derive_subscription_events(periods, churns, plan_order=PLANS)


def test_first_period_sets_the_terms_and_yields_no_event():
    events, used = _derive(_periods(("S1", "A1", "2024-01-01", "pro", 5, 500.0)))
    assert events.empty
    assert used["periods_first"] == 1


@pytest.mark.parametrize(
    ("plan", "seats", "expected"),
    [
        ("enterprise", 5, "upgrade"),
        ("basic", 5, "downgrade"),
        ("pro", 9, "seat_change"),
    ],
)
def test_a_later_period_with_other_terms_is_a_change(plan, seats, expected):
    periods = _periods(
        ("S1", "A1", "2024-01-01", "pro", 5, 500.0),
        ("S2", "A1", "2024-03-01", plan, seats, 700.0),
    )
    events, used = _derive(periods)
    assert events[["event_id", "event_type", "plan", "seats", "mrr"]].to_dict(
        "records"
    ) == [
        {
            "event_id": "S2",
            "event_type": expected,
            "plan": plan,
            "seats": seats,
            "mrr": 700.0,
        }
    ]
    assert used["periods_changes"] == 1


def test_a_period_with_the_same_plan_and_seats_is_a_renewal():
    periods = _periods(
        ("S1", "A1", "2024-01-01", "pro", 5, 500.0),
        ("S2", "A1", "2024-02-01", "pro", 5, 520.0),
    )
    events, used = _derive(periods)
    assert events.empty
    assert used["periods_renewals"] == 1


def test_churn_then_a_new_period_is_a_cancellation_then_a_reactivation():
    periods = _periods(
        ("S1", "A1", "2024-01-01", "pro", 5, 500.0),
        ("S2", "A1", "2024-06-01", "basic", 2, 100.0),
    )
    events, _ = _derive(periods, _churns(("C1", "A1", "2024-04-15", False)))
    assert events["event_type"].tolist() == ["cancellation", "reactivation"]
    cancellation, reactivation = events.to_dict("records")
    # The cancellation leaves the plan in force; MRR drops to zero.
    assert (cancellation["plan"], cancellation["seats"], cancellation["mrr"]) == (
        "pro",
        5,
        0.0,
    )
    assert (cancellation["churn_type"], cancellation["reason"]) == (
        "voluntary",
        "pricing",
    )
    assert (reactivation["event_id"], reactivation["plan"]) == ("S2", "basic")


def test_a_churn_event_flagged_as_reactivation_is_not_churn():
    periods = _periods(("S1", "A1", "2024-01-01", "pro", 5, 500.0))
    churns = _churns(
        ("C1", "A1", "2024-02-01", False), ("C2", "A1", "2024-03-01", True)
    )
    events, used = _derive(periods, churns)
    assert events["event_type"].tolist() == ["cancellation", "reactivation"]
    assert events["reason"].isna().tolist() == [False, True]
    assert used["churn_events_reactivations"] == 1


def test_every_churn_event_is_passed_on_for_the_contract_to_judge():
    # Two cancellations in a row: the second is out of sequence, which the
    # contract's rule rejects by name; it is not dropped here.
    periods = _periods(("S1", "A1", "2024-01-01", "pro", 5, 500.0))
    churns = _churns(
        ("C1", "A1", "2024-02-01", False), ("C2", "A1", "2024-03-01", False)
    )
    events, used = _derive(periods, churns)
    assert events["event_id"].tolist() == ["C1", "C2"]
    assert used["churn_events_cancellations"] == 2


def test_churn_before_the_first_period_keeps_its_terms_and_the_period_returns():
    periods = _periods(("S1", "A1", "2024-03-01", "pro", 5, 500.0))
    events, used = _derive(periods, _churns(("C1", "A1", "2024-02-01", False)))
    assert events[["event_id", "event_type", "plan"]].values.tolist() == [
        ["C1", "cancellation", "pro"],
        ["S1", "reactivation", "pro"],
    ]
    assert used["periods_reactivations"] == 1


def test_same_day_new_period_comes_before_the_churn():
    periods = _periods(
        ("S1", "A1", "2024-01-01", "pro", 5, 500.0),
        ("S2", "A1", "2024-02-01", "enterprise", 5, 900.0),
    )
    events, _ = _derive(periods, _churns(("C1", "A1", "2024-02-01", False)))
    assert events["event_type"].tolist() == ["upgrade", "cancellation"]
    assert events["plan"].tolist() == ["enterprise", "enterprise"]


def test_accounts_are_independent_and_every_source_row_is_accounted_for():
    periods = _periods(
        ("S1", "A1", "2024-01-01", "pro", 5, 500.0),
        ("S2", "A2", "2024-01-05", "basic", 1, 50.0),
        ("S3", "A1", "2024-05-01", "pro", 5, 500.0),
        ("S4", "A2", "2024-02-01", "pro", 1, 90.0),
    )
    churns = _churns(("C1", "A1", "2024-03-01", False))
    events, used = _derive(periods, churns)
    assert events[["account_id", "event_type"]].values.tolist() == [
        ["A1", "cancellation"],
        ["A1", "reactivation"],
        ["A2", "upgrade"],
    ]
    periods_used = sum(v for k, v in used.items() if k.startswith("periods_"))
    churns_used = sum(v for k, v in used.items() if k.startswith("churn_events_"))
    assert (periods_used, churns_used) == (4, 1)


def test_churn_of_an_account_without_periods_has_no_terms():
    events, _ = _derive(
        _periods(("S1", "A1", "2024-01-01", "pro", 5, 500.0)),
        _churns(("C1", "A9", "2024-02-01", False)),
    )
    # Nulls, which the contract then rejects by name (plan: not_nullable).
    assert events.loc[0, "plan"] is None


def test_account_terms_come_from_the_first_period():
    accounts = pd.DataFrame({"account_id": ["A1", "A2"], "seats": [3, 4]})
    periods = _periods(
        ("S2", "A1", "2024-05-01", "pro", 5, 900.0),
        ("S1", "A1", "2024-01-01", "pro", 5, 500.0),
    ).assign(billing_cycle=["annual", "monthly"])
    completed = account_terms(accounts, periods)
    assert completed["mrr"].tolist()[0] == 500.0
    assert completed["billing_cycle"].tolist()[0] == "monthly"
    assert completed.loc[1, ["mrr", "billing_cycle"]].isna().all()
    assert "mrr" not in accounts.columns


def test_account_terms_refuse_to_overwrite():
    accounts = pd.DataFrame({"account_id": ["A1"], "mrr": [1.0]})
    with pytest.raises(ValueError, match=r"already have \['mrr'\]"):
        account_terms(accounts, _periods(("S1", "A1", "2024-01-01", "pro", 5, 1.0)))
