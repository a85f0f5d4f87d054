from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from tests.pipelines.feature_engineering.params import feature_params

from churn_pipeline.features import feature_names
from churn_pipeline.pipelines.feature_engineering import create_pipeline
from churn_pipeline.pipelines.feature_engineering.nodes import build_spine

PARAMS = feature_params()


def _run(raw_tables: dict[str, pd.DataFrame], params: dict) -> pd.DataFrame:
    catalog = DataCatalog(
        {name: MemoryDataset(frame) for name, frame in raw_tables.items()}
        | {"params:feature_engineering": MemoryDataset(params)}
    )
    SequentialRunner().run(create_pipeline(), catalog)
    # Each node hands on an Ibis expression; the file catalog would write it.
    return catalog.load("model_input_table").to_pyarrow().to_pandas()


@pytest.fixture
def table(raw_tables) -> pd.DataFrame:
    return _run(raw_tables, PARAMS).set_index(["account_id", "as_of_date"])


def _row(table: pd.DataFrame, account: str, as_of: str) -> pd.Series:
    return table.loc[(account, pd.Timestamp(as_of))]


def test_spine_keeps_only_active_accounts(table):
    keys = set(table.index)
    as_of = {pd.Timestamp(d) for d in ("2024-01-15", "2024-02-15", "2024-03-15")}
    assert {k[1] for k in keys} == as_of
    assert ("A3", pd.Timestamp("2024-02-15")) not in keys  # signs up 02-20
    assert ("A3", pd.Timestamp("2024-03-15")) in keys
    assert ("A2", pd.Timestamp("2024-03-15")) not in keys  # cancelled 03-10


def test_label_is_cancellation_within_horizon(table):
    assert _row(table, "A2", "2024-01-15")["label"] == 0.0
    assert _row(table, "A2", "2024-02-15")["label"] == 1.0
    assert _row(table, "A1", "2024-02-15")["label"] == 0.0
    newest = table.xs(pd.Timestamp("2024-03-15"), level="as_of_date")
    assert newest["label"].isna().all()
    assert not newest["is_labelled"].any()


@pytest.mark.parametrize(
    ("delay", "labelled"),
    [
        # 02-15 + 28 days = 03-14: within the data (ends 03-15) only if the
        # churn shows at most a day late.
        (0, {"2024-01-15", "2024-02-15"}),
        (1, {"2024-01-15", "2024-02-15"}),
        (2, {"2024-01-15"}),
    ],
)
def test_labels_wait_for_the_label_delay(raw_tables, delay, labelled):
    table = _run(raw_tables, {**PARAMS, "label_delay_days": delay})
    dates = table.loc[table["is_labelled"], "as_of_date"].dt.strftime("%Y-%m-%d")
    assert set(dates) == labelled
    # The newest as-of date is still built (and scored), labelled or not.
    assert table["as_of_date"].max() == pd.Timestamp("2024-03-15")
    assert table.loc[~table["is_labelled"], "label"].isna().all()


def test_account_features_use_plan_in_force(table):
    before = _row(table, "A1", "2024-01-15")
    after = _row(table, "A1", "2024-02-15")
    assert (before["plan"], before["seats"], before["mrr"]) == ("pro", 10, 500.0)
    assert (after["plan"], after["seats"], after["mrr"]) == ("enterprise", 12, 1200.0)
    assert after["days_since_plan_change"] == 14
    assert (
        after["tenure_days"]
        == (pd.Timestamp("2024-02-15") - pd.Timestamp("2023-06-01")).days
    )


def test_usage_features(table):
    a1 = _row(table, "A1", "2024-02-15")
    assert a1["logins_30d"] == 7
    assert a1["logins_trend_30d"] == pytest.approx(8 / 6 - 1)
    assert a1["active_days_30d"] == 1
    assert a1["active_users_per_seat_30d"] == pytest.approx(4 / 12)
    assert a1["key_feature_uses_30d"] == 3
    assert a1["days_since_last_login"] == 5
    a2 = _row(table, "A2", "2024-02-15")
    assert a2["logins_trend_30d"] == pytest.approx(2.0)  # zero previous window
    assert a2["days_since_last_login"] == 26


def test_usage_without_an_active_user_count_leaves_that_feature_unknown(raw_tables):
    tables = {**raw_tables, "usage": raw_tables["usage"].drop(columns="active_users")}
    table = _run(tables, PARAMS).set_index(["account_id", "as_of_date"])
    assert table["active_users_per_seat_30d"].isna().all()
    # The other usage features do not depend on it.
    assert _row(table, "A1", "2024-02-15")["logins_30d"] == 7


def test_no_login_ever_counts_from_signup(table):
    a3 = _row(table, "A3", "2024-03-15")
    assert a3["logins_30d"] == 0
    assert a3["logins_trend_30d"] == 0
    assert a3["active_users_per_seat_30d"] == 0
    assert a3["days_since_last_login"] == 24


def test_ticket_billing_and_nps_features(table):
    a2 = _row(table, "A2", "2024-02-15")
    assert (a2["tickets_30d"], a2["tickets_open"], a2["tickets_open_over_5d"]) == (
        1,
        1,
        1,
    )
    assert a2["failed_payments_90d"] == 2
    assert a2["last_nps"] == 3
    a1 = _row(table, "A1", "2024-02-15")
    assert (a1["tickets_30d"], a1["tickets_open"]) == (0, 0)
    assert a1["last_nps"] == 9
    later = _row(table, "A1", "2024-03-15")
    assert (later["tickets_30d"], later["tickets_open"]) == (1, 0)
    assert later["last_nps"] == 6
    assert math.isnan(_row(table, "A3", "2024-03-15")["last_nps"])


def test_model_input_table_has_registry_columns(table):
    assert list(table.columns) == [*feature_names(), "label", "is_labelled"]


def test_features_ignore_records_after_as_of(raw_tables):
    """Anything dated after an as-of date leaves that date's features unchanged."""
    before = _run(raw_tables, PARAMS)
    future = dict(raw_tables)
    future["usage"] = pd.concat(
        [
            raw_tables["usage"],
            raw_tables["usage"].assign(
                usage_date=pd.Timestamp("2024-02-16"), logins=99
            ),
        ],
        ignore_index=True,
    ).drop_duplicates(["account_id", "usage_date"])
    future["tickets"] = pd.concat(
        [
            raw_tables["tickets"],
            raw_tables["tickets"].assign(
                ticket_id=lambda d: d["ticket_id"] + "x",
                opened_at=pd.Timestamp("2024-02-16 00:00"),
                closed_at=pd.NaT,
                satisfaction=np.nan,
            ),
        ],
        ignore_index=True,
    )
    after = _run(future, PARAMS)
    cut = pd.Timestamp("2024-02-15")
    features = ["account_id", "as_of_date", *feature_names()]
    pd.testing.assert_frame_equal(
        before.loc[before["as_of_date"] <= cut, features].reset_index(drop=True),
        after.loc[after["as_of_date"] <= cut, features].reset_index(drop=True),
    )


def test_spine_fails_clearly_without_room_for_an_as_of_date(raw_tables):
    params = {**PARAMS, "min_history_days": 400}
    with pytest.raises(ValueError, match="No as-of date fits"):
        build_spine(
            raw_tables["accounts"],
            raw_tables["subscription_events"],
            raw_tables["usage"],
            raw_tables["invoices"],
            params,
        )


def test_a_reactivated_account_is_active_again(raw_tables):
    events = raw_tables["subscription_events"]
    comeback = events.iloc[[1]].assign(
        event_id="E3",
        event_type="reactivation",
        event_date=pd.Timestamp("2024-03-12"),
        churn_type=None,
        reason=None,
    )
    tables = {**raw_tables, "subscription_events": pd.concat([events, comeback])}
    table = _run(tables, PARAMS).set_index(["account_id", "as_of_date"])
    assert ("A2", pd.Timestamp("2024-03-15")) in table.index
    assert _row(table, "A2", "2024-02-15")["label"] == 1.0  # it did cancel


def test_cancellation_on_the_as_of_date_makes_the_account_inactive(raw_tables):
    events = raw_tables["subscription_events"].copy()
    events.loc[1, "event_date"] = pd.Timestamp("2024-02-15")
    table = _run({**raw_tables, "subscription_events": events}, PARAMS)
    keys = set(zip(table["account_id"], table["as_of_date"], strict=True))
    assert ("A2", pd.Timestamp("2024-02-15")) not in keys
    assert ("A2", pd.Timestamp("2024-01-15")) in keys


def test_a_configured_usage_column_gets_its_own_features(raw_tables):
    # A1 uses the product on 01-05, 02-10, 02-25 and 03-01; errors on the first
    # two days only. A2 (01-20) never errs.
    usage = raw_tables["usage"].assign(feature_errors=[2, 3, 0, 0, 0])
    table = _run({**raw_tables, "usage": usage}, PARAMS).set_index(
        ["account_id", "as_of_date"]
    )
    configured = [n for n in table.columns if "feature_errors" in n]
    assert list(table.columns) == [
        *feature_names(["feature_errors"]),
        "label",
        "is_labelled",
    ]
    assert len(configured) == 7
    a1 = _row(table, "A1", "2024-03-15")  # 12 seats since 02-01
    assert (a1["feature_errors_14d"], a1["feature_errors_30d"]) == (0, 0)
    assert a1["feature_errors_90d"] == 5
    assert a1["days_since_feature_errors"] == 34  # 02-10
    assert a1["feature_errors_trend_30d"] == pytest.approx((0 + 1) / (3 + 1) - 1)
    before = _row(table, "A1", "2024-02-15")  # 02-10 in the last 7 days
    assert (before["feature_errors_7d"], before["days_since_feature_errors"]) == (3, 5)
    assert before["feature_errors_per_seat_30d"] == pytest.approx(3 / 12)
    # No error ever: counted from the usage history's start (01-05), which is
    # after A2's signup (2023-12-01), like days_since_last_login.
    a2 = _row(table, "A2", "2024-02-15")
    assert a2["days_since_feature_errors"] == 41
    assert a2["feature_errors_90d"] == 0
