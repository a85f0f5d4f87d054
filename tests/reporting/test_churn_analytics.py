"""Monthly churn, segments, cohort retention and NPS on hand-checked tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn_pipeline.reporting.account_states import prepare, state_at
from churn_pipeline.reporting.churn_analytics import (
    MONTHLY_COLUMNS,
    SEGMENT_BY,
    SEGMENT_COLUMNS,
    churn_by_segment,
    churn_record_start,
    cohort_retention,
    monthly_churn,
    net_promoter_score,
    nps_distribution,
)

END = pd.Timestamp("2024-04-30")
TOTALS = ["accounts_start", "cancellations"]


@pytest.fixture
def accounts() -> pd.DataFrame:
    """A1 downgrades, A2 cancels and comes back, A3 leaves in its signup month."""
    return pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3", "A4"],
            "signup_date": pd.to_datetime(
                ["2023-12-10", "2023-12-20", "2024-01-15", "2023-12-01"]
            ),
            "plan": ["pro", "basic", "basic", "enterprise"],
            "seats": [5, 2, 1, 9],
            "mrr": [100.0, 50.0, 30.0, 1000.0],
            "billing_cycle": ["monthly", "monthly", "monthly", "annual"],
            "industry": ["software", "retail", "media", "finance"],
            "country": ["US", "DE", "FR", "GB"],
            "acquisition_channel": ["organic", "referral", "paid_search", "outbound"],
            "discount_pct": [0.0, 0.0, 0.1, 0.2],
        }
    )


@pytest.fixture
def events() -> pd.DataFrame:
    rows = [
        ("E1", "A3", "2024-01-25", "cancellation", "basic", 1, 0.0, "involuntary"),
        ("E2", "A2", "2024-02-05", "cancellation", "basic", 2, 0.0, "voluntary"),
        ("E3", "A1", "2024-02-15", "downgrade", "basic", 5, 60.0, None),
        # On the 1st: a March cancellation, the account still counts at March start.
        ("E4", "A4", "2024-03-01", "cancellation", "enterprise", 9, 0.0, "involuntary"),
        ("E5", "A2", "2024-03-10", "reactivation", "basic", 2, 50.0, None),
        ("E6", "A1", "2024-04-10", "seat_change", "basic", 4, 40.0, None),
        # Expansion is not netted against contraction (gross revenue churn).
        ("E7", "A2", "2024-04-12", "upgrade", "pro", 2, 80.0, None),
    ]
    table = pd.DataFrame(
        rows,
        columns=[
            "event_id",
            "account_id",
            "event_date",
            "event_type",
            "plan",
            "seats",
            "mrr",
            "churn_type",
        ],
    )
    table["event_date"] = pd.to_datetime(table["event_date"])
    reasons = {"voluntary": "pricing", "involuntary": "payment_failure"}
    table["reason"] = table["churn_type"].map(reasons)
    return table


def test_monthly_churn_matches_hand_computed_months(accounts, events):
    table = monthly_churn(accounts, events, end=END).set_index("month")
    # Earliest signup 2023-12-01: December is the first month, with nobody active
    # at its start (A4 signed up that very day).
    expected = pd.DataFrame(
        {
            "accounts_start": [0, 3, 3, 2, 2],
            "mrr_start": [0.0, 1150.0, 1150.0, 1060.0, 110.0],
            "cancellations": [0, 0, 1, 1, 0],
            "voluntary": [0, 0, 1, 0, 0],
            "involuntary": [0, 0, 0, 1, 0],
            "mrr_churned": [0.0, 0.0, 50.0, 1000.0, 0.0],
            "mrr_contraction": [0.0, 0.0, 40.0, 0.0, 20.0],
            "logo_churn_rate": [0.0, 0.0, 1 / 3, 1 / 2, 0.0],
            "revenue_churn_rate": [0.0, 0.0, 90 / 1150, 1000 / 1060, 20 / 110],
            "voluntary_rate": [0.0, 0.0, 1 / 3, 0.0, 0.0],
            "involuntary_rate": [0.0, 0.0, 0.0, 1 / 2, 0.0],
        },
        index=pd.DatetimeIndex(pd.date_range("2023-12-01", periods=5, freq="MS")),
    )
    assert list(monthly_churn(accounts, events, end=END).columns) == MONTHLY_COLUMNS
    pd.testing.assert_frame_equal(
        table, expected, check_dtype=False, check_names=False, check_freq=False
    )


def test_signup_month_cancellation_is_outside_every_denominator(accounts, events):
    table = monthly_churn(accounts, events, end=END).set_index("month")
    # A3 signs up on 15 January and cancels on the 25th: in no month at all.
    january = table.loc["2024-01-01"]
    assert january["accounts_start"] == 3
    assert january["cancellations"] == 0


def test_reactivated_account_counts_again(accounts, events):
    table = monthly_churn(accounts, events, end=END).set_index("month")
    # A2 cancelled in February, is out in March, back in April.
    assert table.loc["2024-03-01", "accounts_start"] == 2  # A1, A4
    assert table.loc["2024-04-01", "accounts_start"] == 2  # A1, A2
    assert table.loc["2024-04-01", "mrr_start"] == pytest.approx(60.0 + 50.0)


def test_voluntary_and_involuntary_add_up_to_cancellations(accounts, events):
    table = monthly_churn(accounts, events, end=END)
    total = table["voluntary"] + table["involuntary"]
    assert (total == table["cancellations"]).all()
    rates = table["voluntary_rate"] + table["involuntary_rate"]
    np.testing.assert_allclose(rates, table["logo_churn_rate"])


def test_repeat_cancellation_in_one_month_is_one_lost_logo():
    accounts = pd.DataFrame(
        {
            "account_id": ["B1"],
            "signup_date": pd.to_datetime(["2023-12-15"]),
            "plan": ["basic"],
            "mrr": [80.0],
        }
    )
    events = pd.DataFrame(
        {
            "account_id": ["B1", "B1", "B1"],
            "event_date": pd.to_datetime(["2024-01-05", "2024-01-10", "2024-01-20"]),
            "event_type": ["cancellation", "reactivation", "cancellation"],
            "plan": ["basic"] * 3,
            "mrr": [0.0, 80.0, 0.0],
            "churn_type": ["voluntary", None, "involuntary"],
        }
    )
    january = monthly_churn(accounts, events, end=END).iloc[0]
    assert january["month"] == pd.Timestamp("2024-01-01")
    # Counted once, with the type of its first cancellation.
    assert (january["cancellations"], january["voluntary"]) == (1, 1)
    assert january["involuntary"] == 0
    assert january["mrr_churned"] == pytest.approx(80.0)


@pytest.mark.parametrize(
    ("end", "last_month"),
    [
        (pd.Timestamp("2024-04-30"), "2024-04-01"),  # April's last day observed
        (pd.Timestamp("2024-04-29"), "2024-03-01"),  # April not complete yet
        (pd.Timestamp("2024-05-01"), "2024-04-01"),
    ],
)
def test_only_complete_months_are_reported(accounts, events, end, last_month):
    table = monthly_churn(accounts, events, end=end)
    assert table["month"].iloc[0] == pd.Timestamp("2023-12-01")
    assert table["month"].iloc[-1] == pd.Timestamp(last_month)


def test_no_complete_month_gives_an_empty_table(accounts, events):
    table = monthly_churn(accounts, events, end=pd.Timestamp("2023-12-30"))
    assert table.empty
    assert list(table.columns) == MONTHLY_COLUMNS


def test_monthly_churn_does_not_modify_its_inputs(accounts, events):
    before = accounts.copy(), events.copy()
    monthly_churn(accounts, events, end=END)
    churn_by_segment(accounts, events, end=END, by="tenure")
    cohort_retention(accounts, events, end=END)
    pd.testing.assert_frame_equal(accounts, before[0])
    pd.testing.assert_frame_equal(events, before[1])


def test_missing_columns_are_named(accounts, events):
    with pytest.raises(ValueError, match=r"subscription_events lacks .*'churn_type'"):
        monthly_churn(accounts, events.drop(columns="churn_type"), end=END)


@pytest.mark.parametrize("by", ["plan", "tenure"])
def test_segments_sum_to_the_monthly_totals(accounts, events, by):
    segments = churn_by_segment(accounts, events, end=END, by=by)
    assert list(segments.columns) == SEGMENT_COLUMNS
    summed = segments.groupby("month")[TOTALS].sum().reset_index(drop=True)
    totals = monthly_churn(accounts, events, end=END)[TOTALS]
    pd.testing.assert_frame_equal(summed, totals, check_dtype=False)


def test_plan_segment_uses_the_plan_at_month_start(accounts, events):
    segments = churn_by_segment(accounts, events, end=END, by="plan")
    march = segments[segments["month"] == "2024-03-01"].set_index("segment")
    # A1 downgraded to basic in February; A4 (enterprise) leaves on 1 March.
    assert march.loc["basic", TOTALS].tolist() == [1, 0]
    assert march.loc["enterprise", TOTALS].tolist() == [1, 1]
    assert march.loc["enterprise", "logo_churn_rate"] == 1.0
    # No pro account at March start: a zero denominator reads as rate 0.0.
    assert march.loc["pro", TOTALS].tolist() == [0, 0]
    assert march.loc["pro", "logo_churn_rate"] == 0.0


def test_tenure_segment_counts_whole_months(accounts, events):
    segments = churn_by_segment(
        accounts, events, end=END, by="tenure", tenure_bands=(0, 3, 6)
    )
    march = segments[segments["month"] == "2024-03-01"].set_index("segment")
    assert march.index.tolist() == ["0-3 m", "3-6 m", "6+ m"]
    # A1 (signed up 10 Dec) has 2 whole months; A4 (1 Dec) exactly 3.
    assert march.loc["0-3 m", TOTALS].tolist() == [1, 0]
    assert march.loc["3-6 m", TOTALS].tolist() == [1, 1]
    assert march.loc["6+ m", TOTALS].tolist() == [0, 0]


def test_unknown_segment_is_rejected(accounts, events):
    with pytest.raises(ValueError, match=r"unknown by='country'.*\['plan', 'tenure'\]"):
        churn_by_segment(accounts, events, end=END, by="country")


@pytest.mark.parametrize("bands", [(), (1, 3), (0, 3, 3), (0, 6, 3)])
def test_invalid_tenure_bands_are_rejected(accounts, events, bands):
    with pytest.raises(ValueError, match="tenure_bands must start at 0"):
        churn_by_segment(accounts, events, end=END, by="tenure", tenure_bands=bands)


def test_cohort_retention_matches_hand_computed_shares(accounts, events):
    retention = cohort_retention(accounts, events, end=END, max_months=4)
    months = [f"month_{k}" for k in range(5)]
    assert retention.columns.tolist() == ["cohort_size", *months]
    december, january = pd.Timestamp("2023-12-01"), pd.Timestamp("2024-01-01")
    assert retention.index.tolist() == [december, january]
    assert retention["cohort_size"].tolist() == [3, 1]
    # k=2: A2 is cancelled on 20 Feb. k=3: A2 is back; A4 cancels on 1 March,
    # its 3-month date itself, so it is still active at that day's start.
    # k=4: A4 gone.
    expected = [1.0, 1.0, 2 / 3, 1.0, 2 / 3]
    np.testing.assert_allclose(retention.loc[december, months], expected)
    # A3 cancels ten days after signup; 15 May is after END: not observed.
    np.testing.assert_allclose(
        retention.loc[january, months], [1.0, 0.0, 0.0, 0.0, np.nan]
    )


def test_cohort_cell_is_nan_until_every_member_is_observed(accounts, events):
    retention = cohort_retention(
        accounts, events, end=pd.Timestamp("2024-04-15"), max_months=4
    )
    # A1 and A4 reach 4 months by 15 April, A2 (20 Dec) only on 20 April.
    assert np.isnan(retention.loc["2023-12-01", "month_4"])
    assert (retention["month_0"] == 1.0).all()


def test_cohort_retention_rejects_negative_months(accounts, events):
    with pytest.raises(ValueError, match="max_months must be >= 0"):
        cohort_retention(accounts, events, end=END, max_months=-1)


# ------------------------------------------------------------ reported window
def test_churn_record_starts_with_the_first_cancellation_month(accounts, events):
    # A3's cancellation on 25 January is the first; A4 signed up on 1 December.
    assert churn_record_start(events) == pd.Timestamp("2024-01-01")


def test_no_recorded_cancellation_gives_no_record_start(events):
    plan_changes = events[events["event_type"] != "cancellation"]
    assert churn_record_start(plan_changes) is None


def test_churn_record_start_names_missing_columns(events):
    with pytest.raises(ValueError, match=r"subscription_events lacks .*event_type"):
        churn_record_start(events.drop(columns="event_type"))


@pytest.mark.parametrize(
    "start", [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-03-01")]
)
def test_start_leaves_out_the_months_before_it(accounts, events, start):
    everything = monthly_churn(accounts, events, end=END)
    table = monthly_churn(accounts, events, end=END, start=start)

    expected = everything[everything["month"] >= start].reset_index(drop=True)
    pd.testing.assert_frame_equal(table, expected)
    assert table["month"].iloc[0] == start
    for by in SEGMENT_BY:
        segments = churn_by_segment(accounts, events, end=END, by=by, start=start)
        assert segments["month"].min() == start
        totals = segments.groupby("month", as_index=False)[TOTALS].sum()
        pd.testing.assert_frame_equal(
            totals, table[["month", *TOTALS]], check_dtype=False
        )


def test_start_leaves_out_the_earlier_signup_cohorts(accounts, events):
    everything = cohort_retention(accounts, events, end=END, max_months=4)
    january = pd.Timestamp("2024-01-01")

    retention = cohort_retention(accounts, events, end=END, max_months=4, start=january)

    assert retention.index.tolist() == [january]
    pd.testing.assert_frame_equal(retention, everything.loc[[january]])


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([10, 9, 8, 7, 6], 100 * (2 - 1) / 5),
        ([10, 10, 9, 9], 100.0),
        ([0, 6, 3], -100.0),
        ([7, 8], 0.0),
        (pd.Series([9, 0, 7, 10, 5, 8, 9]), 100 * (3 - 2) / 7),
    ],
)
def test_net_promoter_score(scores, expected):
    assert net_promoter_score(scores) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("scores", "message"),
    [([], "at least one score"), ([5, 11], "from 0 to 10"), ([5, np.nan], "0 to 10")],
)
def test_net_promoter_score_rejects_bad_input(scores, message):
    with pytest.raises(ValueError, match=message):
        net_promoter_score(scores)


def test_nps_distribution_counts_the_window():
    responses = pd.DataFrame(
        {
            "response_id": [f"R{i}" for i in range(6)],
            "account_id": ["A1"] * 6,
            "response_date": pd.to_datetime(
                [
                    "2024-05-31",  # window start: excluded
                    "2024-06-01",
                    "2024-06-15",
                    "2024-06-15",
                    "2024-06-30",  # end: included
                    "2024-07-01",  # after end
                ]
            ),
            "score": [0, 10, 9, 6, 7, 10],
        }
    )
    table = nps_distribution(responses, end=pd.Timestamp("2024-06-30"), window_days=30)
    assert table["score"].tolist() == list(range(11))
    assert (
        table["category"].tolist()
        == ["detractor"] * 7 + ["passive"] * 2 + ["promoter"] * 2
    )
    assert table.set_index("score")["count"].to_dict() == {
        **dict.fromkeys(range(11), 0),
        6: 1,
        7: 1,
        9: 1,
        10: 1,
    }
    assert table["share"].sum() == pytest.approx(1.0)


def test_nps_distribution_of_an_empty_window_is_all_zero():
    responses = pd.DataFrame(
        {"response_date": pd.to_datetime(["2020-01-01"]), "score": [9]}
    )
    table = nps_distribution(responses, end=pd.Timestamp("2024-06-30"))
    assert table["count"].sum() == 0
    assert (table["share"] == 0.0).all()


def test_nps_distribution_rejects_an_empty_window_length():
    with pytest.raises(ValueError, match="window_days must be positive"):
        nps_distribution(pd.DataFrame(), end=END, window_days=0)


@pytest.mark.parametrize("batch_accounts", [1, 2, 3])
def test_account_states_looked_up_in_batches_are_the_same(
    accounts, events, batch_accounts
):
    acc, ev = prepare(accounts, events)
    bounds = pd.date_range("2024-01-01", "2024-05-01", freq="MS").to_numpy()
    # Lookups in no particular account order, as the cohort table makes them.
    codes = np.tile(acc["code"].to_numpy()[::-1], len(bounds))
    at = np.repeat(bounds, len(acc))

    whole = state_at(acc, ev, codes, at, batch_accounts=len(acc))
    batched = state_at(acc, ev, codes, at, batch_accounts=batch_accounts)

    for expected, got in zip(whole, batched, strict=True):
        np.testing.assert_array_equal(got, expected)
    assert whole[0].any()  # someone is cancelled: the comparison is not trivial
