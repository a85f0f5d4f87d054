"""Contract and behaviour tests of the seeded demo-data generator."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_pipeline.demo_data import DemoDataConfig, generate_demo_data
from churn_pipeline.demo_data.cli import main
from churn_pipeline.demo_data.timeline import HISTORY_DAYS

START = pd.Timestamp("2024-01-01")
END = pd.Timestamp("2024-12-31")
LAST_SECOND = END + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)

OBJ, DATE, INT, FLOAT = "object", "datetime64[ns]", "int64", "float64"
SCHEMA = {
    "accounts": {
        "account_id": OBJ,
        "signup_date": DATE,
        "plan": OBJ,
        "seats": INT,
        "mrr": FLOAT,
        "billing_cycle": OBJ,
        "industry": OBJ,
        "country": OBJ,
        "acquisition_channel": OBJ,
        "discount_pct": FLOAT,
    },
    "subscription_events": {
        "event_id": OBJ,
        "account_id": OBJ,
        "event_date": DATE,
        "event_type": OBJ,
        "plan": OBJ,
        "seats": INT,
        "mrr": FLOAT,
        "churn_type": OBJ,
        "reason": OBJ,
    },
    "usage": {
        "account_id": OBJ,
        "usage_date": DATE,
        "logins": INT,
        "active_users": INT,
        "uses_reports": INT,
        "uses_dashboards": INT,
        "uses_integrations": INT,
        "uses_automations": INT,
    },
    "tickets": {
        "ticket_id": OBJ,
        "account_id": OBJ,
        "opened_at": DATE,
        "closed_at": DATE,
        "priority": OBJ,
        "satisfaction": FLOAT,
    },
    "invoices": {
        "invoice_id": OBJ,
        "account_id": OBJ,
        "invoice_date": DATE,
        "amount": FLOAT,
        "status": OBJ,
        "attempts": INT,
    },
    "nps_responses": {
        "response_id": OBJ,
        "account_id": OBJ,
        "response_date": DATE,
        "score": INT,
    },
}
KEYS = {
    "accounts": "account_id",
    "subscription_events": "event_id",
    "tickets": "ticket_id",
    "invoices": "invoice_id",
    "nps_responses": "response_id",
}
DATE_COLUMNS = {
    "subscription_events": "event_date",
    "usage": "usage_date",
    "tickets": "opened_at",
    "invoices": "invoice_date",
    "nps_responses": "response_date",
}
ACTIVITY_TABLES = ["usage", "tickets", "invoices", "nps_responses"]
CATEGORIES = {
    ("accounts", "plan"): {"basic", "pro", "enterprise"},
    ("accounts", "billing_cycle"): {"monthly", "annual"},
    ("accounts", "industry"): {
        "software",
        "retail",
        "finance",
        "healthcare",
        "education",
        "manufacturing",
        "media",
        "other",
    },
    ("accounts", "country"): {
        "US",
        "GB",
        "DE",
        "FR",
        "NL",
        "CA",
        "AU",
        "IN",
        "BR",
        "ES",
    },
    ("accounts", "acquisition_channel"): {
        "organic",
        "paid_search",
        "referral",
        "partner",
        "outbound",
    },
    ("subscription_events", "event_type"): {
        "upgrade",
        "downgrade",
        "seat_change",
        "cancellation",
    },
    ("subscription_events", "plan"): {"basic", "pro", "enterprise"},
    ("tickets", "priority"): {"low", "medium", "high", "urgent"},
    ("invoices", "status"): {"paid", "failed"},
}


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    config = DemoDataConfig(
        n_accounts=600, start_date="2024-01-01", end_date="2024-12-31", seed=11
    )
    return generate_demo_data(config)


@pytest.fixture(scope="module")
def cancellations(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    events = tables["subscription_events"]
    return events[events["event_type"] == "cancellation"]


def _tiny(seed: int) -> dict[str, pd.DataFrame]:
    config = DemoDataConfig(
        n_accounts=80, start_date="2024-01-01", end_date="2024-02-29", seed=seed
    )
    return generate_demo_data(config)


@pytest.fixture(scope="module")
def tiny() -> dict[str, pd.DataFrame]:
    return _tiny(seed=5)


def _cancel_dates(tables: dict[str, pd.DataFrame], frame: pd.DataFrame) -> pd.Series:
    events = tables["subscription_events"]
    cancelled = events[events["event_type"] == "cancellation"]
    dates = cancelled.set_index("account_id")["event_date"]
    return frame["account_id"].map(dates)


def _at_time(
    frame: pd.DataFrame, date_column: str, tables: dict[str, pd.DataFrame]
) -> pd.DataFrame:
    """Attach the seats and mrr in force on each row's day.

    The simulation applies a day's plan changes after that day's usage and
    billing, so a change counts from the next day on.
    """
    events = tables["subscription_events"]
    changes = events.loc[
        events["event_type"] != "cancellation",
        ["account_id", "event_date", "seats", "mrr"],
    ].rename(columns={"seats": "seats_now", "mrr": "mrr_now"})
    merged = pd.merge_asof(
        frame.sort_values(date_column, kind="stable"),
        changes.sort_values("event_date", kind="stable"),
        left_on=date_column,
        right_on="event_date",
        by="account_id",
        allow_exact_matches=False,
    )
    at_signup = tables["accounts"].set_index("account_id")
    for column in ("seats", "mrr"):
        fallback = merged["account_id"].map(at_signup[column])
        merged[f"{column}_now"] = merged[f"{column}_now"].fillna(fallback)
    return merged


def test_same_seed_gives_identical_tables(tiny: dict[str, pd.DataFrame]) -> None:
    again = _tiny(seed=5)
    assert tiny.keys() == again.keys()
    for name, frame in tiny.items():
        pd.testing.assert_frame_equal(frame, again[name])


def test_different_seed_gives_different_tables(
    tiny: dict[str, pd.DataFrame],
) -> None:
    other = _tiny(seed=6)
    assert not tiny["accounts"].equals(other["accounts"])
    assert not tiny["usage"].equals(other["usage"])


def test_tables_have_exact_columns_and_dtypes(
    tables: dict[str, pd.DataFrame],
) -> None:
    assert set(tables) == set(SCHEMA)
    for name, schema in SCHEMA.items():
        frame = tables[name]
        assert list(frame.columns) == list(schema), name
        assert {c: str(t) for c, t in frame.dtypes.items()} == schema, name
        assert len(frame) > 0, name


def test_keys_are_unique_and_well_formed(tables: dict[str, pd.DataFrame]) -> None:
    for name, key in KEYS.items():
        assert tables[name][key].is_unique, name
    assert tables["accounts"]["account_id"].str.fullmatch(r"A\d{6}").all()
    assert tables["subscription_events"]["event_id"].str.fullmatch(r"E\d{7}").all()
    assert tables["tickets"]["ticket_id"].str.fullmatch(r"T\d{7}").all()
    assert not tables["usage"].duplicated(["account_id", "usage_date"]).any()


def test_foreign_keys_resolve_to_accounts(tables: dict[str, pd.DataFrame]) -> None:
    known = set(tables["accounts"]["account_id"])
    for name in DATE_COLUMNS:
        assert set(tables[name]["account_id"]) <= known, name


def test_accounts_cover_the_window(tables: dict[str, pd.DataFrame]) -> None:
    signup = tables["accounts"]["signup_date"]
    assert len(tables["accounts"]) == 600
    assert signup.max() <= END
    assert (signup < START).any(), "expected a base of existing customers"
    assert (signup >= START).any(), "expected sign-ups during the window"
    # The burn-in gives the base at start_date accounts of every age.
    assert signup.min() >= START - pd.Timedelta(days=HISTORY_DAYS)
    assert (signup < START - pd.DateOffset(years=2)).any()
    assert (signup == signup.dt.normalize()).all()


def test_nothing_is_dated_after_end_date(tables: dict[str, pd.DataFrame]) -> None:
    for name, column in DATE_COLUMNS.items():
        assert tables[name][column].max() <= LAST_SECOND, name
    assert tables["tickets"]["closed_at"].max() <= LAST_SECOND


def test_activity_is_only_recorded_from_start_date(
    tables: dict[str, pd.DataFrame],
) -> None:
    for name in ACTIVITY_TABLES:
        assert tables[name][DATE_COLUMNS[name]].min() >= START, name


def test_events_follow_signup_and_end_with_cancellation(
    tables: dict[str, pd.DataFrame], cancellations: pd.DataFrame
) -> None:
    events = tables["subscription_events"]
    signup = events["account_id"].map(
        tables["accounts"].set_index("account_id")["signup_date"]
    )
    assert (events["event_date"] >= signup).all()
    assert cancellations["account_id"].is_unique
    cancel_date = _cancel_dates(tables, events)
    assert not (events["event_date"] > cancel_date).any()
    others = events[events["event_type"] != "cancellation"]
    assert not (others["event_date"] >= _cancel_dates(tables, others)).any()


def test_activity_only_between_signup_and_cancellation(
    tables: dict[str, pd.DataFrame],
) -> None:
    signups = tables["accounts"].set_index("account_id")["signup_date"]
    for name in ACTIVITY_TABLES:
        frame = tables[name]
        day = frame[DATE_COLUMNS[name]].dt.normalize()
        assert (day >= frame["account_id"].map(signups)).all(), name
        # The cancellation day itself has no activity.
        assert not (day >= _cancel_dates(tables, frame)).any(), name


def test_ticket_times_and_satisfaction(tables: dict[str, pd.DataFrame]) -> None:
    tickets = tables["tickets"]
    closed = tickets["closed_at"].notna()
    assert (tickets.loc[closed, "closed_at"] > tickets.loc[closed, "opened_at"]).all()
    assert tickets.loc[~closed, "satisfaction"].isna().all()
    scores = tickets["satisfaction"].dropna()
    assert scores.between(1, 5).all()
    assert (~closed).any(), "some tickets should still be open at end_date"
    waited = tickets["closed_at"].fillna(LAST_SECOND) - tickets["opened_at"]
    assert (waited > pd.Timedelta(days=5)).mean() > 0.02


def test_cancellation_fields(
    tables: dict[str, pd.DataFrame], cancellations: pd.DataFrame
) -> None:
    events = tables["subscription_events"]
    others = events[events["event_type"] != "cancellation"]
    assert others["churn_type"].isna().all()
    assert others["reason"].isna().all()
    assert (cancellations["mrr"] == 0.0).all()
    assert set(cancellations["churn_type"]) <= {"voluntary", "involuntary"}
    assert set(cancellations["reason"]) <= {
        "pricing",
        "missing_features",
        "support",
        "competitor",
        "payment_failure",
        "business_closed",
        "other",
    }
    voluntary = cancellations[cancellations["churn_type"] == "voluntary"]
    assert (voluntary["reason"] != "payment_failure").all()
    assert voluntary["reason"].nunique() >= 4


def test_involuntary_churn_follows_failed_invoices(
    tables: dict[str, pd.DataFrame], cancellations: pd.DataFrame
) -> None:
    involuntary = cancellations[cancellations["churn_type"] == "involuntary"]
    assert len(involuntary) > 0
    assert (involuntary["reason"] == "payment_failure").all()
    failed = tables["invoices"][tables["invoices"]["status"] == "failed"]
    first_failure = failed.groupby("account_id")["invoice_date"].min()
    preceding = involuntary["account_id"].map(first_failure)
    assert (preceding < involuntary["event_date"]).all()


def test_value_ranges_and_categories(tables: dict[str, pd.DataFrame]) -> None:
    for (name, column), allowed in CATEGORIES.items():
        assert set(tables[name][column]) <= allowed, (name, column)
    accounts = tables["accounts"]
    assert (accounts["seats"] >= 1).all()
    assert (accounts["mrr"] > 0).all()
    assert accounts["discount_pct"].between(0, 0.5).all()
    assert (tables["subscription_events"]["seats"] >= 1).all()
    usage = tables["usage"]
    assert (usage["logins"] >= 1).all()
    assert (usage["active_users"] >= 1).all()
    assert (usage["logins"] >= usage["active_users"]).all()
    features = usage.filter(like="uses_")
    assert (features >= 0).all().all()
    invoices = tables["invoices"]
    assert (invoices["amount"] >= 0).all()
    assert invoices["attempts"].between(1, 4).all()
    assert (invoices.loc[invoices["status"] == "failed", "attempts"] == 4).all()
    assert tables["nps_responses"]["score"].between(0, 10).all()


def test_active_users_never_exceed_seats(tables: dict[str, pd.DataFrame]) -> None:
    usage = _at_time(tables["usage"], "usage_date", tables)
    assert (usage["active_users"] <= usage["seats_now"]).all()


def test_invoice_amount_matches_plan_at_billing(
    tables: dict[str, pd.DataFrame],
) -> None:
    invoices = _at_time(tables["invoices"], "invoice_date", tables)
    cycle = invoices["account_id"].map(
        tables["accounts"].set_index("account_id")["billing_cycle"]
    )
    months = np.where(cycle == "annual", 12, 1)
    expected = (invoices["mrr_now"] * months).round(2)
    np.testing.assert_allclose(invoices["amount"], expected)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("n_accounts", 0, "n_accounts must be in"),
        ("n_accounts", 1.5, "n_accounts must be an int"),
        ("n_accounts", True, "n_accounts must be an int"),
        ("seed", -1, "seed must be in"),
        ("start_date", "2024-13-01", "start_date must be an ISO date"),
        ("start_date", 20240101, "start_date must be an ISO date"),
        ("end_date", "2023-12-31", "end_date must be on or after start_date"),
        ("end_date", "2040-01-01", "end_date must be on or after start_date"),
        ("existing_share", 1.0, r"existing_share must be in \[0.0, 0.95\]"),
        ("churn_scale", -0.1, "churn_scale must be in"),
        ("signal_strength", float("nan"), "signal_strength must be in"),
        ("signal_strength", "high", "signal_strength must be a number"),
    ],
)
def test_config_rejects_invalid_values(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DemoDataConfig(**{field: value})


def test_config_is_frozen_and_keyword_only() -> None:
    config = DemoDataConfig()
    assert (config.n_accounts, config.seed) == (3000, 42)
    assert (config.start_date, config.end_date) == ("2024-01-01", "2025-12-31")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        DemoDataConfig(100)  # type: ignore[misc]


def test_cli_writes_one_parquet_file_per_table(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    argv = [
        "--n-accounts",
        "50",
        "--seed",
        "3",
        "--start-date",
        "2024-01-01",
        "--end-date",
        "2024-02-29",
        "--output-dir",
        str(tmp_path / "raw"),
    ]
    with caplog.at_level(logging.INFO):
        assert main(argv) == 0
    for name, schema in SCHEMA.items():
        frame = pd.read_parquet(tmp_path / "raw" / f"{name}.parquet")
        assert list(frame.columns) == list(schema)
        assert f"{name}.parquet" in caplog.text
    assert len(pd.read_parquet(tmp_path / "raw" / "accounts.parquet")) == 50


def test_cli_rejects_invalid_config(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--n-accounts", "0"])
    assert exit_info.value.code == 2
    assert "n_accounts" in capsys.readouterr().err


def test_churners_use_the_product_less_before_cancelling(
    tables: dict[str, pd.DataFrame], cancellations: pd.DataFrame
) -> None:
    usage = tables["usage"]
    voluntary = cancellations[
        (cancellations["churn_type"] == "voluntary")
        & (cancellations["event_date"] >= START + pd.Timedelta(days=30))
    ]
    assert len(voluntary) >= 20
    window = usage.merge(voluntary[["account_id", "event_date"]], on="account_id")
    recent = window["usage_date"] >= window["event_date"] - pd.Timedelta(days=30)
    churner_logins = window[recent].groupby("account_id")["logins"].sum()
    churner_mean = churner_logins.reindex(voluntary["account_id"], fill_value=0).mean()

    accounts = tables["accounts"]
    retained = accounts.loc[
        ~accounts["account_id"].isin(cancellations["account_id"])
        & (accounts["signup_date"] <= END - pd.Timedelta(days=30)),
        "account_id",
    ]
    last_month = usage[usage["usage_date"] > END - pd.Timedelta(days=30)]
    retained_logins = last_month.groupby("account_id")["logins"].sum()
    retained_mean = retained_logins.reindex(retained, fill_value=0).mean()
    assert churner_mean < retained_mean
