"""Turn pandera's failure cases into one readable error per table."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

# Row-level checks that compare several columns are written as "<column>::<rule>"
# so the report can name the column a user should look at.
RULE_SEPARATOR = "::"
_SAMPLE_SIZE = 5
# Keep rule names to what every MLflow backend accepts in a metric name.
_METRIC_UNSAFE = re.compile(r"[^0-9A-Za-z_\-.]+")


class DataValidationError(ValueError):
    """A raw table broke its contract.

    Attributes:
        table: Name of the table that failed.
        failures: One row per (column, rule) with the number of failing rows and a
            sample of the offending values.
    """

    def __init__(self, table: str, failures: pd.DataFrame, n_rows: int) -> None:
        self.table = table
        self.failures = failures
        self.n_rows = n_rows
        super().__init__(format_failures(table, failures, n_rows))


def label_failure_cases(failure_cases: pd.DataFrame) -> pd.DataFrame:
    """Name the column and rule of each pandera failure case, once per row.

    Args:
        failure_cases: ``SchemaErrors.failure_cases`` from a lazy validation.

    Returns:
        Columns ``column``, ``rule``, ``index`` (the failing row, ``None`` for a
        table-level failure such as a missing column) and ``failure_case``.
    """
    cases = failure_cases.copy()
    split = cases["check"].astype(str).str.partition(RULE_SEPARATOR)
    is_row_rule = split[1] == RULE_SEPARATOR
    cases["rule"] = split[2].where(is_row_rule, cases["check"].astype(str))
    cases["column"] = split[0].where(is_row_rule, cases["column"].astype(str))
    # A multi-column check reports each failing row once per column: count rows.
    cases = cases.drop_duplicates(subset=["column", "rule", "index"])
    return cases[["column", "rule", "index", "failure_case"]].reset_index(drop=True)


def summarise_failure_cases(
    failure_cases: pd.DataFrame, data: pd.DataFrame, key: str | None
) -> pd.DataFrame:
    """Group pandera failure cases by column and rule.

    Args:
        failure_cases: ``SchemaErrors.failure_cases`` from a lazy validation.
        data: The table that was validated, used to show the failing rows' keys.
        key: Primary-key column shown next to each sample value, if any.

    Returns:
        Columns ``column``, ``rule``, ``n_failing_rows`` and ``sample``.
    """
    cases = label_failure_cases(failure_cases)
    rows = []
    for (column, rule), group in cases.groupby(["column", "rule"], sort=False):
        sample = [
            describe_case(data, key, column, index, value)
            for index, value in zip(
                group["index"].head(_SAMPLE_SIZE),
                group["failure_case"].head(_SAMPLE_SIZE),
                strict=True,
            )
        ]
        n_rows = int(group["index"].notna().sum()) or len(group)
        rows.append(
            {"column": column, "rule": rule, "n_failing_rows": n_rows, "sample": sample}
        )
    return pd.DataFrame(rows, columns=["column", "rule", "n_failing_rows", "sample"])


def describe_case(
    data: pd.DataFrame, key: str | None, column: str, index: object, value: object
) -> str:
    """One sample of a failure: the row's key (or position) and its value."""
    if index is None or pd.isna(index) or index not in data.index:
        return repr(value)
    row = data.loc[index]
    shown = row[column] if column in data.columns else value
    if key and key in data.columns and key != column:
        return f"{key}={row[key]!r}: {column}={shown!r}"
    return f"row {index}: {column}={shown!r}"


def format_failures(table: str, failures: pd.DataFrame, n_rows: int) -> str:
    """Render the grouped failures of one table as a multi-line message."""
    lines = [
        f"Raw table '{table}' failed validation ({len(failures)} rule(s) broken, "
        f"{n_rows} rows checked):"
    ]
    for failure in failures.itertuples(index=False):
        lines.append(
            f"  - table '{table}', column '{failure.column}', rule '{failure.rule}': "
            f"{failure.n_failing_rows} failing row(s), e.g. {', '.join(failure.sample)}"
        )
    return "\n".join(lines)


def accounting_metrics(
    tables: Mapping[str, Mapping[str, Any]], prefix: str
) -> dict[str, float]:
    """Flatten per-table row accounting into MLflow metric names.

    Args:
        tables: Table name -> ``ValidationResult.counts()``.
        prefix: Start of every metric name (e.g. ``validation``).

    Returns:
        ``<prefix>_<table>_rows_{in,accepted,rejected}`` and
        ``<prefix>_<table>_rejected_<rule>`` (rule sanitised for MLflow).
    """
    metrics: dict[str, float] = {}
    for table, counts in tables.items():
        for key in ("rows_in", "rows_accepted", "rows_rejected"):
            metrics[f"{prefix}_{table}_{key}"] = float(counts[key])
        for rule, rows in counts["rejected_by_rule"].items():
            name = _METRIC_UNSAFE.sub("_", rule).strip("_")
            metrics[f"{prefix}_{table}_rejected_{name}"] = float(rows)
    return metrics
