"""Source tables: validated with the contract's machinery, every row accounted for."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
import pytest

from churn_pipeline.pipelines.ingestion.nodes import (
    CASCADE_RULE,
    complete_accounts,
    derive_events,
    source_table_validator,
    summarise_ingestion,
    validate_churn_events,
    validate_usage_events,
)
from churn_pipeline.validation import DataValidationError

validate_subscriptions = source_table_validator("subscriptions")

# An export in its own names, mapped by configuration as conf/ravenstack does.
INGESTION = {
    "mappings": {
        "subscriptions": {
            "columns": {"plan_tier": "plan", "mrr_amount": "mrr"},
            "values": {"plan": {"Basic": "basic", "Pro": "pro"}},
        },
        "churn_events": {"constants": {"churn_type": "voluntary"}},
        "usage_events": {"columns": {"feature_name": "feature"}},
    },
    "usage_aggregations": {"logins": {"op": "count"}},
}


@pytest.fixture
def quarantine(validation_params) -> dict[str, Any]:
    return {**validation_params, "mode": "quarantine", "max_date": "2024-12-31"}


@pytest.fixture
def subscriptions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subscription_id": ["S1", "S2", "S3"],
            "account_id": ["A1", "A1", "A2"],
            "start_date": ["2024-01-01", "2024-03-01", "2024-02-01"],
            "end_date": [None, None, "2024-06-30"],
            "plan_tier": ["Basic", "Pro", "Pro"],
            "seats": [2, 4, 10],
            "mrr_amount": [40, 160, 400],
            "billing_cycle": ["monthly", "monthly", "annual"],
        }
    )


@pytest.fixture
def churn_events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "churn_event_id": ["C1", "C2"],
            "account_id": ["A1", "A2"],
            "churn_date": ["2024-05-01", "2024-07-01"],
            "reason": ["pricing", "support"],
            "is_reactivation": [False, False],
        }
    )


@pytest.fixture
def usage_events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "usage_id": ["U1", "U2", "U3", "U1"],
            "subscription_id": ["S1", "S3", "S2", "S2"],
            "usage_date": ["2024-01-05", "2024-02-03", "2024-03-04", "2024-03-09"],
            "feature_name": ["f1", "f2", "f1", "f3"],
            "usage_count": [1, 2, 3, 4],
        }
    )


def test_valid_sources_pass_in_contract_names(subscriptions, churn_events, quarantine):
    accepted, rejected, counts = validate_subscriptions(
        subscriptions, INGESTION, quarantine
    )
    assert rejected.empty
    assert accepted["plan"].tolist() == ["basic", "pro", "pro"]
    assert accepted["start_date"].dtype == "datetime64[ns]"
    assert counts["rows_in"] == counts["rows_accepted"] == 3
    accepted, rejected, _ = validate_churn_events(churn_events, INGESTION, quarantine)
    assert rejected.empty and accepted["churn_type"].eq("voluntary").all()


def test_a_reused_usage_id_keeps_the_first_event(
    subscriptions, usage_events, quarantine
):
    periods, rejected_periods, _ = validate_subscriptions(
        subscriptions, INGESTION, quarantine
    )
    accepted, rejected, counts = validate_usage_events(
        usage_events, periods, rejected_periods, INGESTION, quarantine
    )
    assert accepted["usage_id"].tolist() == ["U1", "U2", "U3"]
    assert rejected["subscription_id"].tolist() == ["S2"]
    assert counts["rejected_by_rule"] == {"usage_id: field_uniqueness": 1}
    assert counts["rows_in"] == counts["rows_accepted"] + counts["rows_rejected"]


def test_events_of_a_rejected_subscription_cascade(
    subscriptions, usage_events, quarantine
):
    broken = subscriptions.assign(seats=[2, 4, 0])  # S3 breaks seats >= 1
    periods, rejected_periods, counts = validate_subscriptions(
        broken, INGESTION, quarantine
    )
    assert counts["rejected_by_rule"] == {"seats: greater_than_or_equal_to(1)": 1}
    _, rejected, counts = validate_usage_events(
        usage_events, periods, rejected_periods, INGESTION, quarantine
    )
    assert rejected["usage_id"].tolist() == ["U2", "U1"]
    assert counts["rejected_by_rule"] == {
        CASCADE_RULE: 1,
        "usage_id: field_uniqueness": 1,
    }


@pytest.mark.parametrize(
    ("table", "column", "value", "rule"),
    [
        ("subscriptions", "plan_tier", "Platinum", "plan: isin("),
        ("subscriptions", "end_date", "2023-12-01", "end_date on or after start_date"),
        ("subscriptions", "start_date", "2025-03-01", "not after the data's end"),
        ("subscriptions", "start_date", "yesterday", "coerce_dtype('datetime64[ns]')"),
        ("churn_events", "is_reactivation", "False", "a boolean (True/False)"),
        ("churn_events", "reason", "weather", "reason: isin("),
        ("usage_events", "subscription_id", "S404", "foreign key: subscription_id"),
    ],
)
def test_a_broken_row_is_quarantined_under_its_rule(
    subscriptions, churn_events, usage_events, quarantine, table, column, value, rule
):
    sources = {
        "subscriptions": subscriptions,
        "churn_events": churn_events,
        "usage_events": usage_events.iloc[:3],
    }
    broken = sources[table].astype({column: object})
    broken.loc[0, column] = value
    sources = {**sources, table: broken}
    periods, rejected_periods, counts = validate_subscriptions(
        sources["subscriptions"], INGESTION, quarantine
    )
    if table == "churn_events":
        _, _, counts = validate_churn_events(broken, INGESTION, quarantine)
    elif table == "usage_events":
        _, _, counts = validate_usage_events(
            broken, periods, rejected_periods, INGESTION, quarantine
        )
    assert counts["rows_rejected"] == 1
    assert counts["rows_accepted"] == len(broken) - 1
    assert any(rule in broken for broken in counts["rejected_by_rule"])


def test_strict_mode_stops_with_the_table_and_rule(subscriptions, validation_params):
    strict = {**validation_params, "mode": "strict", "max_date": "2024-12-31"}
    with pytest.raises(
        DataValidationError, match="table 'subscriptions', column 'seats'"
    ):
        validate_subscriptions(subscriptions.assign(seats=0), INGESTION, strict)


def test_summary_has_the_accounting_as_mlflow_metrics():
    counts = {
        "table": "usage_events",
        "present": True,
        "rows_in": 4,
        "rows_accepted": 3,
        "rows_rejected": 1,
        "rejected_by_rule": {"usage_id: field_uniqueness": 1},
    }
    report, metrics = summarise_ingestion({"periods_first": 2}, {}, counts)
    assert report["derived"] == {"periods_first": 2}
    assert metrics == {
        "source_usage_events_rows_in": {"value": 4.0, "step": 0},
        "source_usage_events_rows_accepted": {"value": 3.0, "step": 0},
        "source_usage_events_rows_rejected": {"value": 1.0, "step": 0},
        "source_usage_events_rejected_usage_id_field_uniqueness": {
            "value": 1.0,
            "step": 0,
        },
        "source_derived_periods_first": {"value": 2.0, "step": 0},
    }


GAP = {**INGESTION, "churn": {"source": "gap", "gap_days": 30}}


def test_absent_churn_events_with_churn_from_events_name_the_parameter(quarantine):
    with pytest.raises(
        ValueError,
        match=r"'churn_events' is declared absent.*ingestion.churn.source is "
        r"'events'.*ingestion.churn.source: gap",
    ):
        validate_churn_events(None, INGESTION, quarantine)


@pytest.mark.parametrize("present", [True, False])
def test_churn_from_gaps_needs_no_churn_events_and_ignores_them(
    churn_events, quarantine, caplog, present
):
    raw = churn_events if present else None
    with caplog.at_level(logging.INFO):
        accepted, rejected, counts = validate_churn_events(raw, GAP, quarantine)
    assert accepted.empty and rejected.empty
    assert counts["rows_in"] == 0 and counts["ignored"] is True
    assert counts["present"] is present
    ignored = "the 2 source churn events are ignored" in caplog.text
    assert ignored is present


def test_churn_from_gaps_becomes_cancellations_and_reactivations(
    subscriptions, quarantine
):
    periods, _, _ = validate_subscriptions(
        subscriptions.assign(end_date=["2024-02-10", None, "2024-06-30"]),
        INGESTION,
        quarantine,
    )
    ignored, _, _ = validate_churn_events(None, GAP, quarantine)
    events, derivation = derive_events(periods, ignored, GAP, quarantine)
    # A1 ends 2024-02-10, returns 2024-03-01 (within 30 days): no churn.
    # A2 ends 2024-06-30, nothing after: churn on that day.
    assert events[["account_id", "event_type"]].values.tolist() == [
        ["A1", "upgrade"],
        ["A2", "cancellation"],
    ]
    assert derivation["gap_churn_events"] == 1
    assert derivation["gap_accounts_open"] == 1
    assert derivation["churn_events_cancellations"] == 1


def test_keys_derived_when_absent_are_counted(subscriptions, quarantine):
    no_ids = subscriptions.drop(columns="subscription_id")
    periods, _, counts = validate_subscriptions(no_ids, INGESTION, quarantine)
    assert periods["subscription_id"].tolist() == [
        "S-A1-2024-01-01",
        "S-A1-2024-03-01",
        "S-A2-2024-02-01",
    ]
    assert counts["derived"] == {"subscription_id": 3}
    events = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A9"],
            "usage_date": ["2024-01-05 10:00", "2024-02-03 08:00", "2024-02-03"],
            "event_type": ["login", "login", "login"],
        }
    )
    by_account = {**INGESTION, "mappings": {}}
    accepted, _, counts = validate_usage_events(
        events, periods, periods.iloc[:0], by_account, quarantine
    )
    assert accepted["usage_id"].tolist() == ["U-1", "U-2"]
    assert counts["rejected_by_rule"] == {
        "account_id: foreign key: account_id exists in subscriptions' accounts": 1
    }
    report, metrics = summarise_ingestion({}, {"accounts_from_periods": 2}, counts)
    assert report["filled"] == {
        "usage_events.usage_id": 3,
        "accounts.from_periods": 2,
    }
    assert metrics["source_usage_events_derived_usage_id"]["value"] == 3.0
    assert metrics["source_accounts_derived_from_periods"]["value"] == 2.0


def test_absent_accounts_come_from_periods_and_signup_dates_are_filled(
    subscriptions, quarantine
):
    periods, _, _ = validate_subscriptions(subscriptions, INGESTION, quarantine)
    accounts, derived = complete_accounts(None, periods, quarantine)
    assert accounts["account_id"].tolist() == ["A1", "A2"]
    assert derived == {"accounts_from_periods": 2}
    exported = pd.DataFrame({"account_id": ["A1", "A2"], "industry": ["x", "y"]})
    accounts, derived = complete_accounts(exported, periods, quarantine)
    assert (
        accounts["signup_date"].tolist()
        == pd.to_datetime(["2024-01-01", "2024-02-01"]).tolist()
    )
    assert derived == {"accounts_signup_date": 2}
    mapped = {
        **quarantine,
        "mappings": {"accounts": {"columns": {"joined": "signup_date"}}},
    }
    _, derived = complete_accounts(
        exported.assign(joined="2023-01-01"), periods, mapped
    )
    assert derived == {}


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [("churn_type", "unhappy", "churn_type"), ("reason", "weather", "churn_reason")],
)
def test_a_gap_churn_label_the_contract_rejects_names_key_and_allowed_values(
    subscriptions, quarantine, key, value, field
):
    periods, _, _ = validate_subscriptions(subscriptions, INGESTION, quarantine)
    params = {**GAP, "churn": {**GAP["churn"], key: value}}
    with pytest.raises(
        ValueError,
        match=rf"ingestion.churn.{key} is '{value}'.*"
        rf"data_validation.allowed_values.{field}.*allowed: \[",
    ):
        derive_events(periods, pd.DataFrame(), params, quarantine)


def test_usage_events_without_an_owner_name_both_columns(subscriptions, quarantine):
    periods, _, _ = validate_subscriptions(subscriptions, INGESTION, quarantine)
    events = pd.DataFrame({"usage_date": ["2024-01-05"], "event_type": ["login"]})
    with pytest.raises(
        ValueError,
        match=r"'usage_events' needs one of \['subscription_id', 'account_id'\]",
    ):
        validate_usage_events(
            events, periods, periods.iloc[:0], {**INGESTION, "mappings": {}}, quarantine
        )


def test_absent_subscriptions_are_a_clear_error(quarantine):
    with pytest.raises(ValueError, match="'subscriptions' is declared absent"):
        validate_subscriptions(None, INGESTION, quarantine)
