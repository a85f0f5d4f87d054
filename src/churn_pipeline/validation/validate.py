"""Validate one raw table: fail with a full report, or quarantine bad rows.

Whatever the mode, every input row ends up either accepted or rejected with the
rules it broke, and ``rows in = rows accepted + rows rejected`` is checked here.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
import pandera.pandas as pa

from churn_pipeline.validation.report import (
    DataValidationError,
    label_failure_cases,
    summarise_failure_cases,
)
from churn_pipeline.validation.schemas import RAW_TABLES, REQUIRED_TABLES, build_schema

logger = logging.getLogger(__name__)

Mode = Literal["strict", "quarantine"]
MODES: tuple[Mode, ...] = ("strict", "quarantine")
REJECTED_RULES_COLUMN = "rejected_rules"
CASCADE_RULE = "account_id: account rejected in table 'accounts'"
# Removing rows can expose new failures in cross-row rules (e.g. a duplicate
# left alone); a few rounds settle any realistic table.
_MAX_ROUNDS = 5


@dataclass(frozen=True)
class ValidationResult:
    """The outcome of validating one table.

    Attributes:
        table: Table name.
        accepted: Rows that passed, with the contract's dtypes: a frame, or on
            the engine path a lazy Ibis table (written straight to its file).
        rejected: Rejected rows, values as text (they may not fit the dtypes),
            plus ``rejected_rules``: every ``"<column>: <rule>"`` they broke.
        rule_counts: Rejected rows per ``"<column>: <rule>"``; a row breaking
            two rules counts under both.
        present: False when an optional table was declared absent.
        n_accepted: Accepted rows as counted by the engine (lazy ``accepted``
            only; a frame is counted with ``len``).
    """

    table: str
    accepted: pd.DataFrame | Any
    rejected: pd.DataFrame
    rule_counts: dict[str, int] = field(default_factory=dict)
    present: bool = True
    n_accepted: int | None = None

    @property
    def rows_accepted(self) -> int:
        """Rows that passed."""
        if self.n_accepted is not None:
            return self.n_accepted
        return len(self.accepted)

    @property
    def rows_in(self) -> int:
        """Rows that came in."""
        return self.rows_accepted + len(self.rejected)

    def counts(self) -> dict[str, object]:
        """Accounting for logs and MLflow."""
        return {
            "table": self.table,
            "present": self.present,
            "rows_in": self.rows_in,
            "rows_accepted": self.rows_accepted,
            "rows_rejected": len(self.rejected),
            "rejected_by_rule": dict(self.rule_counts),
            "columns": [str(column) for column in self.accepted.columns],
        }


def validate_table(
    table: str,
    data: pd.DataFrame | None,
    *,
    allowed_values: Mapping[str, Sequence[str]],
    usage_columns: Sequence[str] = (),
    accounts: pd.DataFrame | None = None,
    rejected_account_ids: Collection[str] = (),
    max_date: pd.Timestamp | None = None,
    mode: Mode = "strict",
) -> ValidationResult:
    """Validate a raw table, collecting every failure before deciding.

    Args:
        table: Name of the raw table (a key of ``RAW_TABLES``).
        data: The raw rows; ``None`` for an optional table declared absent.
        allowed_values: Allowed values per categorical field.
        usage_columns: Count columns of the usage table.
        accounts: Accepted accounts, for foreign keys and signup-date order.
        rejected_account_ids: Accounts rejected earlier; their rows here are
            rejected for that reason (never reported as orphans or dropped).
        max_date: No date may lie after it (the end of the data).
        mode: ``strict`` raises on any failure; ``quarantine`` rejects the
            failing rows and accepts the rest.

    Returns:
        Accepted and rejected rows with per-rule counts.

    Raises:
        ValueError: On an unknown mode, an absent required table, or an empty
            ``accounts`` table.
        DataValidationError: In strict mode on any failure; in quarantine mode
            on failures no row can be blamed for (e.g. a missing column).
    """
    check_mode(mode)
    schema = build_schema(
        table,
        allowed_values=allowed_values,
        usage_columns=usage_columns,
        accounts=accounts,
        max_date=max_date,
    )
    if data is None:
        return _absent(table, schema)
    data = data.reset_index(drop=True)  # row labels name rejected rows below
    if table == "accounts" and data.empty:
        raise ValueError("Required table 'accounts' is empty: nothing to score")
    rules: dict[object, list[str]] = {}
    if len(rejected_account_ids) > 0 and "account_id" in data.columns:
        orphaned = data.index[data["account_id"].isin(set(rejected_account_ids))]
        for index in orphaned:
            rules[index] = [CASCADE_RULE]
    return validate_with_schema(
        table, data, schema, key=RAW_TABLES[table], mode=mode, rules=rules
    )


def validate_with_schema(
    table: str,
    data: pd.DataFrame,
    schema: pa.DataFrameSchema,
    *,
    key: Sequence[str],
    mode: Mode,
    rules: dict[object, list[str]] | None = None,
) -> ValidationResult:
    """Validate ``data`` against any schema with the same accounting.

    Args:
        table: Name used in reports.
        data: Rows with a unique default index (row labels name rejections).
        schema: The pandera schema.
        key: Key column(s), shown next to failing values in reports.
        mode: ``strict`` or ``quarantine``.
        rules: Rows already rejected before schema checks, with their rules.

    Returns:
        Accepted and rejected rows with per-rule counts.

    Raises:
        DataValidationError: As for :func:`validate_table`.
    """
    check_mode(mode)
    data = data.reset_index(drop=True)
    rules = dict(rules or {})
    accepted = _validate_rounds(table, schema, data, rules, mode, key)
    result = ValidationResult(
        table=table,
        accepted=accepted,
        rejected=_rejected_rows(data, rules),
        rule_counts=_count_rules(rules),
    )
    if result.rows_in != len(data):
        raise RuntimeError(
            f"Validation of {table!r} lost rows: {len(data)} in, "
            f"{len(result.accepted)} accepted + {len(result.rejected)} rejected"
        )
    log_result(result)
    return result


def resolve_max_date(configured: str | None) -> pd.Timestamp:
    """The latest date any record may carry: configured, else today (UTC).

    Args:
        configured: ``data_validation.max_date`` (a date, or empty).

    Returns:
        The day, without time zone.
    """
    if configured:
        return pd.Timestamp(configured)
    return pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()


def check_mode(mode: str) -> None:
    """Refuse a mode other than ``strict`` or ``quarantine``, naming both."""
    if mode not in MODES:
        raise ValueError(f"Unknown validation mode {mode!r}; allowed: {list(MODES)}")


def _absent(table: str, schema: pa.DataFrameSchema) -> ValidationResult:
    """An empty, correctly typed table standing in for an absent optional one."""
    if table in REQUIRED_TABLES:
        raise ValueError(
            f"Required table {table!r} is absent; only "
            f"{sorted(set(RAW_TABLES) - REQUIRED_TABLES)} may be declared absent"
        )
    columns = list(schema.columns)
    empty = schema.validate(pd.DataFrame({c: pd.Series(dtype=object) for c in columns}))
    rejected = pd.DataFrame(columns=[*columns, REJECTED_RULES_COLUMN], dtype="string")
    logger.warning("Optional table '%s' is absent: no features come from it", table)
    return ValidationResult(table, empty, rejected, present=False)


def _validate_rounds(
    table: str,
    schema: pa.DataFrameSchema,
    data: pd.DataFrame,
    rules: dict[object, list[str]],
    mode: Mode,
    key: Sequence[str],
) -> pd.DataFrame:
    """Validate, moving failing rows into ``rules`` until the rest passes."""
    for _ in range(_MAX_ROUNDS):
        remaining = data.drop(index=list(rules))
        try:
            return schema.validate(remaining, lazy=True)
        except pa.errors.SchemaErrors as errors:
            cases = label_failure_cases(errors.failure_cases)
            row_cases = cases[cases["index"].notna()]
            if mode == "strict" or row_cases.empty:
                failures = summarise_failure_cases(
                    errors.failure_cases, data, key[0] if len(key) == 1 else None
                )
                raise DataValidationError(table, failures, len(data)) from None
            for case in row_cases.itertuples(index=False):
                label = f"{case.column}: {case.rule}"
                broken = rules.setdefault(case.index, [])
                if label not in broken:
                    broken.append(label)
    raise RuntimeError(
        f"Validation of {table!r} did not settle in {_MAX_ROUNDS} rounds"
    )


def _rejected_rows(
    data: pd.DataFrame, rules: Mapping[object, list[str]]
) -> pd.DataFrame:
    # Text keeps the offending values exactly as seen, whatever their type.
    rejected = data.loc[list(rules)].astype("string")
    rejected[REJECTED_RULES_COLUMN] = ["; ".join(rules[i]) for i in rejected.index]
    return rejected.reset_index(drop=True)


def _count_rules(rules: Mapping[object, list[str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for broken in rules.values():
        for label in broken:
            counts[label] = counts.get(label, 0) + 1
    return dict(sorted(counts.items()))


def log_result(result: ValidationResult) -> None:
    """Log a table's accounting: rows in, accepted and quarantined per rule."""
    if result.rejected.empty:
        logger.info(
            "Raw table '%s' passed validation: %d rows", result.table, result.rows_in
        )
        return
    logger.warning(
        "Raw table '%s': %d rows in, %d accepted, %d quarantined: %s",
        result.table,
        result.rows_in,
        result.rows_accepted,
        len(result.rejected),
        result.rule_counts,
    )
