"""Keys, signup dates and accounts derived when an export lacks them."""

from __future__ import annotations

import pandas as pd
import pytest

from churn_pipeline.ingestion.derived import (
    accounts_from_periods,
    with_derived_key,
    with_signup_dates,
)

PERIODS = pd.DataFrame(
    {
        "account_id": ["A2", "A1", "A1", "A1"],
        "start_date": ["2024-03-01", "2024-02-01", "2024-01-01", "2024-01-01"],
        "plan": ["pro", "pro", "basic", "basic"],
        "seats": [3, 2, 1, 1],
        "mrr": [90.0, 60.0, 10.0, 12.0],
        "billing_cycle": ["annual", "monthly", "monthly", "monthly"],
    }
)


def test_subscription_ids_come_from_account_and_start_day():
    derived, count = with_derived_key("subscriptions", PERIODS)
    assert derived["subscription_id"].tolist() == [
        "S-A2-2024-03-01",
        "S-A1-2024-02-01",
        "S-A1-2024-01-01",
        "S-A1-2024-01-01-2",  # the same account and day again
    ]
    assert count == 4
    again, _ = with_derived_key("subscriptions", PERIODS.copy())
    pd.testing.assert_series_equal(derived["subscription_id"], again["subscription_id"])


def test_a_timestamp_and_its_day_in_text_give_the_same_id():
    as_text, _ = with_derived_key(
        "churn_events", PERIODS.rename(columns={"start_date": "churn_date"})
    )
    as_dates = PERIODS.assign(churn_date=pd.to_datetime(PERIODS["start_date"]))
    dated, _ = with_derived_key("churn_events", as_dates.drop(columns="start_date"))
    assert as_text["churn_event_id"].tolist() == dated["churn_event_id"].tolist()
    assert dated["churn_event_id"].iloc[0] == "C-A2-2024-03-01"


def test_usage_ids_are_row_numbers():
    events = pd.DataFrame({"account_id": ["A1", "A1", "A2"]})
    derived, count = with_derived_key("usage_events", events)
    assert derived["usage_id"].tolist() == ["U-1", "U-2", "U-3"]
    assert count == 3


def test_an_existing_key_is_kept():
    events = pd.DataFrame({"usage_id": ["x"], "account_id": ["A1"]})
    derived, count = with_derived_key("usage_events", events)
    assert derived["usage_id"].tolist() == ["x"] and count == 0


def test_a_key_without_its_parts_names_the_key_and_the_parameter():
    with pytest.raises(
        ValueError,
        match=r"'subscriptions' has no 'subscription_id' and no \['start_date'\].*"
        r"ingestion.mappings.subscriptions.columns",
    ):
        with_derived_key("subscriptions", PERIODS.drop(columns="start_date"))


def _validated(periods: pd.DataFrame) -> pd.DataFrame:
    derived, _ = with_derived_key("subscriptions", periods)
    return derived.assign(start_date=pd.to_datetime(derived["start_date"]))


def test_accounts_come_from_their_first_period():
    accounts = accounts_from_periods(_validated(PERIODS))
    assert accounts.to_dict("records") == [
        {
            "account_id": "A1",
            "signup_date": pd.Timestamp("2024-01-01"),
            "plan": "basic",
            "seats": 1,
            "mrr": 10.0,  # the first of two same-day periods, by id
            "billing_cycle": "monthly",
        },
        {
            "account_id": "A2",
            "signup_date": pd.Timestamp("2024-03-01"),
            "plan": "pro",
            "seats": 3,
            "mrr": 90.0,
            "billing_cycle": "annual",
        },
    ]


def test_signup_dates_are_the_first_period_start_and_null_without_periods():
    accounts = pd.DataFrame({"account_id": ["A1", "A2", "A3"]})
    filled, count = with_signup_dates(accounts, _validated(PERIODS))
    assert (
        filled["signup_date"].tolist()[:2]
        == pd.to_datetime(["2024-01-01", "2024-03-01"]).tolist()
    )
    assert pd.isna(filled["signup_date"].iloc[2])
    assert count == 2
