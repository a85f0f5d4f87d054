"""Daily usage from event-level usage by configured aggregations."""

from __future__ import annotations

import pandas as pd
import pytest

from churn_pipeline.ingestion import daily_usage

SUBSCRIPTIONS = pd.DataFrame(
    {"subscription_id": ["S1", "S2", "S3"], "account_id": ["A1", "A1", "A2"]}
)
EVENTS = pd.DataFrame(
    {
        "usage_id": ["U1", "U2", "U3", "U4"],
        "subscription_id": ["S1", "S2", "S1", "S3"],
        "usage_date": pd.to_datetime(
            [
                "2024-01-01 09:00",
                "2024-01-01 17:30",
                "2024-01-02 08:00",
                "2024-01-01 12:00",
            ]
        ),
        "feature": ["f1", "f1", "f2", "f3"],
        "usage_count": [3, 4, 1, 7],
    }
)
AGGREGATIONS = {
    "logins": {"op": "count"},
    "feature_uses": {"op": "sum", "column": "usage_count"},
    "features_used": {"op": "nunique", "column": "feature"},
}


def test_events_become_one_row_per_account_and_day():
    daily = daily_usage(EVENTS, SUBSCRIPTIONS, AGGREGATIONS)
    assert daily.to_dict("records") == [
        {
            "account_id": "A1",
            "usage_date": pd.Timestamp("2024-01-01"),
            "logins": 2,
            "feature_uses": 7,
            "features_used": 1,
        },
        {
            "account_id": "A1",
            "usage_date": pd.Timestamp("2024-01-02"),
            "logins": 1,
            "feature_uses": 1,
            "features_used": 1,
        },
        {
            "account_id": "A2",
            "usage_date": pd.Timestamp("2024-01-01"),
            "logins": 1,
            "feature_uses": 7,
            "features_used": 1,
        },
    ]
    assert daily["logins"].sum() == len(EVENTS)


@pytest.mark.parametrize(
    ("aggregations", "message"),
    [
        ({}, "No usage aggregations"),
        ({"x": {"op": "median", "column": "usage_count"}}, "allowed: \\['count'"),
        ({"x": {"op": "sum", "column": "minutes"}}, "source column 'minutes'"),
        (
            {"x": {"op": "count", "where": {"event_type": ["login"]}}},
            "source column 'event_type'",
        ),
    ],
)
def test_bad_aggregations_are_clear_errors(aggregations, message):
    with pytest.raises(ValueError, match=message):
        daily_usage(EVENTS, SUBSCRIPTIONS, aggregations)


ACCOUNT_EVENTS = pd.DataFrame(
    {
        "account_id": ["A1", "A1", "A1", "A2", "A2"],
        "usage_date": pd.to_datetime(
            [
                "2024-01-01 09:00",
                "2024-01-01 23:59",
                "2024-01-02 00:01",
                "2024-01-01 12:00",
                "2024-01-03 12:00",
            ]
        ),
        "event_type": ["login", "export", "login", "export", "export"],
    }
)


def test_events_of_an_account_are_filtered_by_type_per_column():
    aggregations = {
        "logins": {"op": "count", "where": {"event_type": ["login"]}},
        "exports": {"op": "count", "where": {"event_type": ["export", "share"]}},
        "event_types": {"op": "nunique", "column": "event_type"},
    }
    daily = daily_usage(ACCOUNT_EVENTS, SUBSCRIPTIONS.iloc[:0], aggregations)
    assert daily.to_dict("list") == {
        "account_id": ["A1", "A1", "A2", "A2"],
        "usage_date": pd.to_datetime(
            ["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-03"]
        ).tolist(),
        # A day with events but none of a column's type is 0, not missing.
        "logins": [1, 1, 0, 0],
        "exports": [1, 0, 1, 1],
        "event_types": [2, 1, 1, 1],
    }
    assert daily["logins"].sum() + daily["exports"].sum() == len(ACCOUNT_EVENTS)
