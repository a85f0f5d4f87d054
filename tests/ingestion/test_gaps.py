"""Churn derived from gaps between subscription periods (Carl Gold's definition)."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from churn_pipeline.config.data import IngestionParameters
from churn_pipeline.ingestion import derive_subscription_events
from churn_pipeline.ingestion.gaps import gap_churn_events, period_ends

DATA_END = pd.Timestamp("2024-12-31")


def _periods(*rows: tuple[str, str, str | None]) -> pd.DataFrame:
    """Periods of (account, start, end); plan, seats and MRR do not matter here."""
    frame = pd.DataFrame(rows, columns=["account_id", "start_date", "end_date"])
    return frame.assign(
        subscription_id=[f"S{i}" for i in range(len(frame))],
        start_date=pd.to_datetime(frame["start_date"]),
        end_date=pd.to_datetime(frame["end_date"]),
        plan="basic",
        seats=1,
        mrr=10.0,
        billing_cycle="monthly",
    )


def _gaps(periods: pd.DataFrame, gap_days: int = 30, **kwargs):
    return gap_churn_events(
        periods,
        gap_days=gap_days,
        data_end=DATA_END,
        churn_type="voluntary",
        reason="other",
        **kwargs,
    )


@pytest.mark.parametrize(
    ("periods", "churn_dates", "state"),
    [
        pytest.param(
            [("2024-01-01", "2024-03-31"), ("2024-03-01", "2024-06-30")],
            ["2024-06-30"],
            "churned",
            id="overlapping-one-subscription",
        ),
        pytest.param(
            [("2024-01-01", "2024-03-31"), ("2024-03-31", "2024-06-30")],
            ["2024-06-30"],
            "churned",
            id="adjacent",
        ),
        pytest.param(
            [("2024-01-01", "2024-03-31"), ("2024-04-30", "2024-06-30")],
            ["2024-06-30"],
            "churned",
            id="within-gap",
        ),
        pytest.param(
            [("2024-01-01", "2024-03-31"), ("2024-05-01", "2024-06-30")],
            ["2024-03-31", "2024-06-30"],
            "churned",
            id="beyond-gap",
        ),
        pytest.param(
            [("2024-01-01", "2024-03-31"), ("2024-02-01", None)],
            [],
            "open",
            id="open-period-covers",
        ),
        pytest.param(
            [("2024-01-01", "2024-12-15")],
            [],
            "censored",
            id="censored-at-end",
        ),
        pytest.param(
            [("2024-01-01", "2024-12-01")],
            ["2024-12-01"],
            "churned",
            id="gap-over-exactly-at-end",
        ),
        pytest.param(
            [("2024-01-01", "2024-02-01"), ("2024-01-10", "2024-01-20")],
            ["2024-02-01"],
            "churned",
            id="nested-period-does-not-shorten",
        ),
    ],
)
def test_churn_is_the_end_of_a_subscription_not_renewed_within_the_gap(
    periods, churn_dates, state
):
    events, counts = _gaps(_periods(*[("A1", *p) for p in periods]))
    assert events["churn_date"].dt.strftime("%Y-%m-%d").tolist() == churn_dates
    assert counts[f"gap_accounts_{state}"] == 1
    assert counts["gap_churn_events"] == len(churn_dates)
    assert not events["is_reactivation"].any()


def test_a_zero_day_gap_needs_the_next_period_to_start_by_the_end():
    periods = _periods(("A1", "2024-01-01", "2024-03-31"), ("A1", "2024-04-01", None))
    events, _ = _gaps(periods, gap_days=0)
    assert events["churn_date"].tolist() == [pd.Timestamp("2024-03-31")]


def test_accounting_sums_over_accounts_and_events():
    periods = _periods(
        ("A1", "2024-01-01", "2024-02-01"),
        ("A1", "2024-06-01", "2024-07-01"),
        ("A2", "2024-01-01", None),
        ("A3", "2024-01-01", "2024-12-20"),
        ("A4", "2024-03-01", "2024-04-01"),
    )
    events, counts = _gaps(periods)
    assert counts == {
        "gap_churn_events": 3,
        "gap_churns_followed_by_a_period": 1,
        "gap_accounts_open": 1,
        "gap_accounts_censored": 1,
        "gap_accounts_churned": 2,
    }
    assert events["churn_event_id"].tolist() == [
        "gap-A1-2024-02-01",
        "gap-A1-2024-07-01",
        "gap-A4-2024-04-01",
    ]
    assert events["churn_event_id"].is_unique
    assert set(events["churn_type"]) == {"voluntary"}
    assert set(events["reason"]) == {"other"}


def test_the_ids_and_events_do_not_depend_on_row_order():
    periods = _periods(
        ("A1", "2024-01-01", "2024-02-01"),
        ("A1", "2024-06-01", "2024-07-01"),
        ("A2", "2024-03-01", "2024-04-01"),
    )
    first, _ = _gaps(periods)
    again, _ = _gaps(periods.iloc[::-1])
    pd.testing.assert_frame_equal(first, again)


def test_a_period_after_a_gap_is_a_reactivation_in_the_contract_events():
    periods = _periods(("A1", "2024-01-01", "2024-02-01"), ("A1", "2024-06-01", None))
    churns, _ = _gaps(periods)
    events, used = derive_subscription_events(
        periods, churns, plan_order=["basic", "pro"]
    )
    assert events["event_type"].tolist() == ["cancellation", "reactivation"]
    assert (
        events["event_date"].tolist()
        == pd.to_datetime(["2024-02-01", "2024-06-01"]).tolist()
    )
    assert used["churn_events_cancellations"] == 1


def test_term_days_end_open_periods_one_term_after_their_start():
    periods = _periods(("A1", "2024-01-01", None)).assign(billing_cycle="annual")
    ends = period_ends(periods, {"annual": 365, "monthly": 30})
    assert ends.tolist() == [pd.Timestamp("2024-12-31")]
    monthly = _periods(("A1", "2024-01-01", None), ("A1", "2024-06-01", None))
    events, counts = _gaps(monthly, term_days={"monthly": 30})
    # Each term ends 30 days after its start; the second is never renewed.
    assert (
        events["churn_date"].tolist()
        == pd.to_datetime(["2024-01-31", "2024-07-01"]).tolist()
    )
    assert counts["gap_accounts_churned"] == 1


def test_term_days_must_cover_every_billing_cycle_of_open_periods():
    periods = _periods(("A1", "2024-01-01", None)).assign(billing_cycle="annual")
    with pytest.raises(
        ValueError, match=r"ingestion.churn.term_days has no term for .*'annual'"
    ):
        period_ends(periods, {"monthly": 30})


@pytest.mark.parametrize(
    ("churn", "message"),
    [
        ({"source": "gaps"}, r"churn.source\n.*must be one of \['events', 'gap'\]"),
        ({"gap_days": -1}, r"churn.gap_days\n.*greater than or equal to 0"),
        ({"term_days": {"monthly": 0}}, r"churn.term_days.monthly\n.*greater than 0"),
        ({"gap": 30}, r"churn.gap\n.*Extra inputs are not permitted"),
    ],
)
def test_churn_parameters_name_the_key_and_the_allowed_values(churn, message):
    with pytest.raises(ValidationError, match=message):
        IngestionParameters.model_validate(
            {"usage_aggregations": {"logins": {"op": "count"}}, "churn": churn}
        )


def test_usage_aggregation_filters_need_values():
    with pytest.raises(ValidationError, match=r"where.event_type\n.*at least 1 item"):
        IngestionParameters.model_validate(
            {"usage_aggregations": {"x": {"op": "count", "where": {"event_type": []}}}}
        )
