from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from churn_pipeline.validation import RAW_TABLES, DataValidationError, validate_table


def _validate(
    table: str, tables: dict[str, pd.DataFrame], params: dict[str, Any]
) -> pd.DataFrame:
    return validate_table(
        table,
        tables[table],
        allowed_values=params["allowed_values"],
        usage_columns=params["usage_columns"],
        accounts=None if table == "accounts" else tables["accounts"],
    ).accepted


@pytest.mark.parametrize("table", list(RAW_TABLES))
def test_valid_tables_pass_unchanged_in_length(raw_tables, validation_params, table):
    validated = _validate(table, raw_tables, validation_params)
    assert len(validated) == len(raw_tables[table])


def _break(tables: dict[str, pd.DataFrame], table: str, column: str, row: int, value):
    broken = tables[table].copy()
    broken[column] = broken[column].astype(object)
    broken.loc[row, column] = value
    return {**tables, table: broken}


@pytest.mark.parametrize(
    ("table", "column", "row", "value", "rule"),
    [
        ("accounts", "account_id", 1, "A1", "unique"),
        ("accounts", "plan", 0, "platinum", "isin"),
        ("accounts", "seats", 2, 0, "greater_than_or_equal_to(1)"),
        ("accounts", "mrr", 0, -5.0, "greater_than_or_equal_to(0)"),
        ("accounts", "signup_date", 0, "not a date", "coerce_dtype"),
        ("subscription_events", "account_id", 0, "A404", "foreign key"),
        ("subscription_events", "event_date", 0, pd.Timestamp("2023-01-01"), "signup"),
        ("subscription_events", "churn_type", 0, "voluntary", "exactly for cancel"),
        ("usage", "logins", 0, -1, "greater_than_or_equal_to(0)"),
        ("tickets", "closed_at", 0, pd.Timestamp("2024-02-19"), "after opened_at"),
        ("tickets", "priority", 1, "whenever", "isin"),
        ("invoices", "status", 0, "maybe", "isin"),
        ("nps_responses", "score", 0, 11, "in_range"),
    ],
)
def test_broken_rule_names_table_column_rule_and_sample(
    raw_tables, validation_params, table, column, row, value, rule
):
    tables = _break(raw_tables, table, column, row, value)
    with pytest.raises(DataValidationError) as caught:
        _validate(table, tables, validation_params)
    error = caught.value
    assert error.table == table
    message = str(error)
    assert f"table '{table}'" in message
    assert f"column '{column}'" in message
    assert rule in message
    assert "failing row" in message
    assert repr(value).strip("'") in message or str(value) in message


def test_all_failures_are_collected_before_raising(raw_tables, validation_params):
    tables = _break(raw_tables, "accounts", "plan", 0, "platinum")
    tables = _break(tables, "accounts", "mrr", 1, -1.0)
    with pytest.raises(DataValidationError) as caught:
        _validate("accounts", tables, validation_params)
    assert set(caught.value.failures["column"]) == {"plan", "mrr"}


def test_failure_counts_rows(raw_tables, validation_params):
    broken = raw_tables["usage"].copy()
    broken["account_id"] = "A404"
    with pytest.raises(DataValidationError) as caught:
        _validate("usage", {**raw_tables, "usage": broken}, validation_params)
    failures = caught.value.failures.set_index("rule")
    assert (
        failures.loc["foreign key: account_id exists in accounts", "n_failing_rows"]
        == 5
    )


def test_missing_column_is_reported(raw_tables, validation_params):
    tables = {
        **raw_tables,
        "nps_responses": raw_tables["nps_responses"].drop(columns="score"),
    }
    with pytest.raises(DataValidationError, match="score"):
        _validate("nps_responses", tables, validation_params)


def test_unknown_table_lists_allowed(validation_params):
    with pytest.raises(ValueError, match="allowed"):
        validate_table(
            "payments",
            pd.DataFrame(),
            allowed_values=validation_params["allowed_values"],
        )
