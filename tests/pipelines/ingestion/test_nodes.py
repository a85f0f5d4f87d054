"""Source tables: validated with the contract's machinery, every row accounted for."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from churn_pipeline.pipelines.ingestion.nodes import (
    CASCADE_RULE,
    source_table_validator,
    summarise_ingestion,
    validate_usage_events,
)
from churn_pipeline.validation import DataValidationError

validate_subscriptions = source_table_validator("subscriptions")
validate_churn_events = source_table_validator("churn_events")

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
    report, metrics = summarise_ingestion({"periods_first": 2}, counts)
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
