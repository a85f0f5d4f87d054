"""Fault injection: each fault is reported under its exact rule, nothing is lost."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from churn_pipeline.validation import (
    REJECTED_RULES_COLUMN,
    DataValidationError,
    ValidationResult,
    validate_table,
)
from churn_pipeline.validation.validate import CASCADE_RULE

MAX_DATE = pd.Timestamp("2024-12-31")
Tables = dict[str, pd.DataFrame]


def _quarantine(
    table: str,
    tables: Tables,
    params: dict[str, Any],
    rejected_account_ids: tuple[str, ...] = (),
) -> ValidationResult:
    return validate_table(
        table,
        tables[table],
        allowed_values=params["allowed_values"],
        usage_columns=params["usage_columns"],
        accounts=None if table == "accounts" else tables["accounts"],
        rejected_account_ids=rejected_account_ids,
        max_date=MAX_DATE,
        mode="quarantine",
    )


def _set(
    table: str, row: int, column: str, value: object
) -> Callable[[Tables], Tables]:
    def apply(tables: Tables) -> Tables:
        frame = tables[table].copy()
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
        return {**tables, table: frame}

    return apply


def _append_copy(table: str, row: int, **changes: object) -> Callable[[Tables], Tables]:
    def apply(tables: Tables) -> Tables:
        frame = tables[table]
        extra = frame.iloc[[row]].assign(**changes)
        return {**tables, table: pd.concat([frame, extra], ignore_index=True)}

    return apply


FAULTS = {
    "null key": (
        _set("accounts", 1, "account_id", None),
        "accounts",
        "account_id: not_nullable",
    ),
    "duplicate key": (
        _append_copy("tickets", 0, priority="high"),
        "tickets",
        "ticket_id: field_uniqueness",
    ),
    "duplicate row": (
        _append_copy("usage", 2),
        "usage",
        "usage_date: multiple_fields_uniqueness",
    ),
    "orphan foreign key": (
        _set("invoices", 0, "account_id", "A404"),
        "invoices",
        "account_id: foreign key: account_id exists in accounts",
    ),
    "closed before opened": (
        _set("tickets", 0, "closed_at", pd.Timestamp("2024-02-19")),
        "tickets",
        "closed_at: closed_at after opened_at",
    ),
    "future date": (
        _set("nps_responses", 0, "response_date", pd.Timestamp("2025-01-01")),
        "nps_responses",
        "response_date: not after the data's end (2024-12-31)",
    ),
    "negative usage": (
        _set("usage", 0, "logins", -2),
        "usage",
        "logins: greater_than_or_equal_to(0)",
    ),
    "negative mrr": (
        _set("accounts", 0, "mrr", -10.0),
        "accounts",
        "mrr: greater_than_or_equal_to(0)",
    ),
    "unknown plan": (
        _set("accounts", 2, "plan", "platinum"),
        "accounts",
        "plan: isin(['basic', 'pro', 'enterprise'])",
    ),
    "unknown category": (
        _set("invoices", 1, "status", "maybe"),
        "invoices",
        "status: isin(['paid', 'failed'])",
    ),
    "wrong dtype": (
        _set("accounts", 0, "seats", "ten"),
        "accounts",
        "seats: coerce_dtype('int64')",
    ),
    "unparseable date": (
        _set("subscription_events", 0, "event_date", "31/02/2024"),
        "subscription_events",
        "event_date: coerce_dtype('datetime64[ns]')",
    ),
    "event before signup": (
        _set("subscription_events", 0, "event_date", pd.Timestamp("2023-01-01")),
        "subscription_events",
        "event_date: event_date >= account signup_date",
    ),
    "second cancellation": (
        _append_copy("subscription_events", 1, event_id="E9"),
        "subscription_events",
        "event_type: cancellations and reactivations alternate",
    ),
    "reactivation of an active account": (
        _append_copy(
            "subscription_events",
            0,
            event_id="E9",
            event_type="reactivation",
            event_date=pd.Timestamp("2024-02-10"),
        ),
        "subscription_events",
        "event_type: cancellations and reactivations alternate",
    ),
    "plan change while cancelled": (
        _append_copy(
            "subscription_events",
            0,
            event_id="E9",
            account_id="A2",
            event_date=pd.Timestamp("2024-03-20"),
        ),
        "subscription_events",
        "event_date: no plan change while cancelled",
    ),
    "satisfaction on an open ticket": (
        _set("tickets", 1, "satisfaction", 4.0),
        "tickets",
        "satisfaction: satisfaction only on closed tickets",
    ),
    "score out of range": (
        _set("nps_responses", 2, "score", 11),
        "nps_responses",
        "score: in_range(0, 10)",
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_is_quarantined_under_its_rule(raw_tables, validation_params, fault):
    inject, table, rule = FAULTS[fault]
    tables = inject(raw_tables)
    result = _quarantine(table, tables, validation_params)
    assert result.rows_in == len(tables[table])
    assert len(result.accepted) + len(result.rejected) == len(tables[table])
    # Exactly the injected row is rejected, under the injected rule.
    assert len(result.rejected) == 1, result.rejected
    assert rule in result.rejected[REJECTED_RULES_COLUMN].item().split("; ")
    assert result.rule_counts[rule] == 1


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_stops_a_strict_run(raw_tables, validation_params, fault):
    inject, table, rule = FAULTS[fault]
    tables = inject(raw_tables)
    with pytest.raises(DataValidationError) as caught:
        validate_table(
            table,
            tables[table],
            allowed_values=validation_params["allowed_values"],
            usage_columns=validation_params["usage_columns"],
            accounts=None if table == "accounts" else tables["accounts"],
            max_date=MAX_DATE,
        )
    column, _, name = rule.partition(": ")
    assert f"column '{column}', rule '{name}'" in str(caught.value)


def test_accounting_counts_each_rejected_row_once(raw_tables, validation_params):
    tables = _set("usage", 0, "logins", -1)(raw_tables)
    tables = _set("usage", 1, "active_users", -1)(tables)
    tables = _set("usage", 1, "logins", -3)(tables)  # one row, two rules
    result = _quarantine("usage", tables, validation_params)
    assert (len(result.accepted), len(result.rejected)) == (3, 2)
    assert result.rule_counts == {
        "active_users: greater_than_or_equal_to(0)": 1,
        "logins: greater_than_or_equal_to(0)": 2,
    }
    two_rules = result.rejected.loc[result.rejected["logins"] == "-3"]
    assert two_rules[REJECTED_RULES_COLUMN].str.count(";").item() == 1


def test_rejected_rows_keep_offending_values_as_text(raw_tables, validation_params):
    tables = _set("accounts", 0, "signup_date", "someday")(raw_tables)
    result = _quarantine("accounts", tables, validation_params)
    assert result.rejected["signup_date"].tolist() == ["someday"]
    assert result.rejected["account_id"].tolist() == ["A1"]


def test_first_occurrence_of_a_duplicate_key_is_kept(raw_tables, validation_params):
    tables = FAULTS["duplicate key"][0](raw_tables)
    result = _quarantine("tickets", tables, validation_params)
    assert result.accepted["ticket_id"].tolist() == ["T1", "T2", "T3"]
    assert (
        result.accepted.loc[result.accepted["ticket_id"] == "T1", "priority"].item()
        == "low"
    )


def test_rows_of_a_rejected_account_cascade_with_that_reason(
    raw_tables, validation_params
):
    tables = _set("accounts", 1, "plan", "platinum")(raw_tables)  # A2
    accounts = _quarantine("accounts", tables, validation_params)
    assert accounts.rejected["account_id"].tolist() == ["A2"]
    tables = {**tables, "accounts": accounts.accepted}
    tickets = _quarantine(
        "tickets", tables, validation_params, tuple(accounts.rejected["account_id"])
    )
    assert tickets.rule_counts == {CASCADE_RULE: 2}
    assert sorted(tickets.rejected["ticket_id"]) == ["T2", "T3"]
    assert tickets.accepted["ticket_id"].tolist() == ["T1"]


def test_missing_required_column_fails_even_in_quarantine(
    raw_tables, validation_params
):
    tables = {**raw_tables, "usage": raw_tables["usage"].drop(columns="logins")}
    with pytest.raises(
        DataValidationError, match="column 'usage', rule 'column_in_dataframe'"
    ):
        _quarantine("usage", tables, validation_params)


def test_empty_optional_table_passes_with_zero_rows(raw_tables, validation_params):
    tables = {**raw_tables, "nps_responses": raw_tables["nps_responses"].iloc[0:0]}
    result = _quarantine("nps_responses", tables, validation_params)
    assert (result.rows_in, len(result.accepted), len(result.rejected)) == (0, 0, 0)


def test_empty_accounts_table_is_a_clear_error(raw_tables, validation_params):
    tables = {**raw_tables, "accounts": raw_tables["accounts"].iloc[0:0]}
    with pytest.raises(ValueError, match="Required table 'accounts' is empty"):
        _quarantine("accounts", tables, validation_params)


def test_unknown_mode_lists_the_allowed_ones(raw_tables, validation_params):
    with pytest.raises(ValueError, match=r"allowed: \['strict', 'quarantine'\]"):
        validate_table(
            "accounts",
            raw_tables["accounts"],
            allowed_values=validation_params["allowed_values"],
            mode="lenient",
        )


@pytest.mark.parametrize("table", ["usage", "tickets", "invoices", "nps_responses"])
def test_absent_optional_table_becomes_an_empty_typed_table(
    raw_tables, validation_params, table
):
    result = _quarantine(table, {**raw_tables, table: None}, validation_params)
    assert not result.present
    assert result.counts()["present"] is False
    assert (result.rows_in, len(result.rejected)) == (0, 0)
    present = _quarantine(table, raw_tables, validation_params).accepted
    assert result.accepted.dtypes.to_dict() == present.dtypes.to_dict()


@pytest.mark.parametrize("table", ["accounts", "subscription_events"])
def test_absent_required_table_is_a_clear_error(raw_tables, validation_params, table):
    with pytest.raises(ValueError, match=f"Required table '{table}' is absent"):
        _quarantine(table, {**raw_tables, table: None}, validation_params)


@pytest.mark.parametrize(
    ("lifecycle_day", "change_day"),
    [
        ("2024-03-25", "2024-03-25"),  # reactivated and changed the same day
        ("2024-03-25", "2024-04-02"),  # changed after coming back
    ],
)
def test_plan_change_on_or_after_reactivation_is_accepted(
    raw_tables, validation_params, lifecycle_day, change_day
):
    # A2 cancels on 2024-03-10 (fixture), comes back, then changes plan.
    tables = _append_copy(
        "subscription_events",
        1,
        event_id="E8",
        event_type="reactivation",
        event_date=pd.Timestamp(lifecycle_day),
        churn_type=None,
        reason=None,
    )(raw_tables)
    tables = _append_copy(
        "subscription_events",
        0,
        event_id="E9",
        account_id="A2",
        event_date=pd.Timestamp(change_day),
    )(tables)
    result = _quarantine("subscription_events", tables, validation_params)
    assert result.rejected.empty, result.rejected
    assert len(result.accepted) == 4
