"""The pandas reference implementation gives the model input of the Ibis build."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import pytest
from tests.features import pandas_reference
from tests.features.both_ways import engine_and_reference

from churn_pipeline.demo_data import DemoDataConfig, generate_demo_data
from churn_pipeline.validation.lifecycle import CANCELLATION, REACTIVATION

KEY_COLUMNS = ["uses_reports", "uses_dashboards", "uses_integrations"]
KEYS = ["account_id", "as_of_date"]


def _with_reactivations(
    tables: dict[str, pd.DataFrame], n: int
) -> dict[str, pd.DataFrame]:
    """Reactivate ``n`` cancelled accounts 20 days later (demo data has none).

    Skipped where the reactivation would fall after the data ends or before a
    later event of the same account, so lifecycle events still alternate.
    """
    events = tables["subscription_events"]
    last = events.groupby("account_id")["event_date"].transform("max")
    cancelled = events[
        (events["event_type"] == CANCELLATION)
        & (events["event_date"] == last)
        & (events["event_date"] < events["event_date"].max() - pd.Timedelta(days=40))
    ].head(n)
    comeback = cancelled.assign(
        event_id=[f"E9{i:06d}" for i in range(len(cancelled))],
        event_date=cancelled["event_date"] + pd.Timedelta(days=20),
        event_type=REACTIVATION,
        mrr=cancelled["mrr"] + 10.0,
        churn_type=None,
        reason=None,
    )
    return {**tables, "subscription_events": pd.concat([events, comeback])}


def _both_ways(
    tables: Mapping[str, pd.DataFrame], *, min_history_days: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    return engine_and_reference(tables, KEY_COLUMNS, min_history_days=min_history_days)


@pytest.fixture(scope="module")
def demo_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    config = DemoDataConfig(
        n_accounts=250, start_date="2024-10-01", end_date="2025-09-30", seed=7
    )
    tables = _with_reactivations(generate_demo_data(config), 5)
    return _both_ways(tables, min_history_days=90)


def test_demo_business_gives_equal_tables(demo_frames):
    expected, actual = demo_frames
    assert len(expected) > 1000
    assert expected["label"].sum() > 0
    assert pandas_reference.frame_differences(expected, actual) == []


def test_hand_made_edge_cases_give_equal_tables(raw_tables):
    expected, actual = _both_ways(raw_tables, min_history_days=0)
    assert len(expected) > 0
    assert pandas_reference.frame_differences(expected, actual) == []


def test_a_difference_is_reported(demo_frames):
    expected, actual = demo_frames
    actual = actual.copy()
    actual.loc[3, "logins_30d"] += 1.0
    actual.loc[5, "plan"] = "other"
    problems = pandas_reference.frame_differences(expected, actual)
    assert [p.split(":")[0] for p in problems] == ["plan", "logins_30d"]
