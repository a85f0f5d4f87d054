"""Nodes that validate raw tables: strict (stop the run) or quarantine bad rows.

A large table that arrives as a Parquet file (``ParquetTable``) is validated in
the engine (DuckDB, or Spark under ``--env spark``) and never enters pandas;
any other input (a frame from a CSV, an in-memory catalog) goes through pandera.
Both apply the same rules with the same labels.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pandas as pd

from churn_pipeline.datasets.parquet_table import ParquetTable, TableData, as_pandas
from churn_pipeline.validation import (
    ValidationResult,
    resolve_max_date,
    validate_table,
)
from churn_pipeline.validation.in_engine import (
    ENGINE_TABLES,
    connect_validation_engine,
    validate_parquet_table,
)
from churn_pipeline.validation.mapping import apply_mapping

logger = logging.getLogger(__name__)

# Accepted rows (a frame, or a lazy Ibis table on the engine path), rejected
# rows, accounting.
ValidationOutputs = tuple[Any, pd.DataFrame, dict[str, Any]]


def _mapped(table: str, raw: pd.DataFrame | None, params: dict[str, Any]) -> Any:
    """The raw table in the contract's names and values (``mappings.<table>``)."""
    mapping = (params.get("mappings") or {}).get(table) or {}
    return raw if raw is None or not mapping else apply_mapping(raw, mapping)


def _ids(rejected_accounts: pd.DataFrame) -> tuple[str, ...]:
    if "account_id" not in rejected_accounts.columns:
        return ()
    return tuple(rejected_accounts["account_id"].dropna())


def _outputs(result: ValidationResult) -> ValidationOutputs:
    return result.accepted, result.rejected, result.counts()


def validate_accounts(raw: TableData, params: dict[str, Any]) -> ValidationOutputs:
    """Validate the accounts table.

    Args:
        raw: Raw accounts.
        params: ``data_validation`` parameters (mode, mappings, allowed values,
            max date).

    Returns:
        Accepted accounts, rejected accounts with their rules, row accounting.
    """
    result = validate_table(
        "accounts",
        _mapped("accounts", as_pandas(raw), params),
        allowed_values=params["allowed_values"],
        max_date=resolve_max_date(params.get("max_date")),
        mode=params["mode"],
    )
    return _outputs(result)


def validate_related(
    table: str,
    raw: TableData | None,
    accounts: TableData,
    rejected_accounts: pd.DataFrame,
    params: dict[str, Any],
) -> ValidationOutputs:
    """Validate a table that refers to accounts; rows of rejected accounts cascade.

    Args:
        table: A raw table other than ``accounts`` (``RAW_TABLES``).
        raw: The raw table: a frame, a Parquet file (``ENGINE_TABLES`` are then
            validated in the engine), or ``None`` when declared absent.
        accounts: Accepted accounts (foreign keys, signup dates).
        rejected_accounts: Rejected accounts (their rows cascade).
        params: ``data_validation`` parameters.

    Returns:
        Accepted rows, rejected rows with their rules, row accounting.
    """
    options = {
        "allowed_values": params["allowed_values"],
        "usage_columns": params["usage_columns"],
        "accounts": as_pandas(accounts),
        "rejected_account_ids": _ids(rejected_accounts),
        "max_date": resolve_max_date(params.get("max_date")),
        "mode": params["mode"],
    }
    if isinstance(raw, ParquetTable) and table in ENGINE_TABLES:
        logger.info("Validating '%s' in the engine, from %s", table, raw.path)
        result = validate_parquet_table(
            table,
            raw,
            connect_validation_engine(params.get("engine")),
            mapping=(params.get("mappings") or {}).get(table) or {},
            **options,
        )
    else:
        result = validate_table(
            table, _mapped(table, as_pandas(raw), params), **options
        )
    return _outputs(result)


def related_table_validator(table: str) -> Callable[..., ValidationOutputs]:
    """The node function validating ``table``: ``validate_related`` bound to it.

    Args:
        table: A raw table other than ``accounts``.

    Returns:
        ``validate_<table>(raw, accounts, rejected_accounts, params)``.
    """

    # A plain function, not a partial: Kedro reads its name and type hints.
    def validator(
        raw: TableData | None,
        accounts: TableData,
        rejected_accounts: pd.DataFrame,
        params: dict[str, Any],
    ) -> ValidationOutputs:
        return validate_related(table, raw, accounts, rejected_accounts, params)

    validator.__name__ = validator.__qualname__ = f"validate_{table}"
    return validator


def summarise_validation(*counts: dict[str, Any]) -> dict[str, Any]:
    """Collect every table's accounting into one report.

    Args:
        *counts: ``ValidationResult.counts()`` of each table.

    Returns:
        Per-table counts under ``tables`` plus the totals ``rows_in``,
        ``rows_accepted`` and ``rows_rejected``.
    """
    tables = {c["table"]: c for c in counts}
    totals = {
        key: sum(int(c[key]) for c in counts)
        for key in ("rows_in", "rows_accepted", "rows_rejected")
    }
    logger.info(
        "Validation: %d rows in, %d accepted, %d rejected",
        totals["rows_in"],
        totals["rows_accepted"],
        totals["rows_rejected"],
    )
    absent = sorted(c["table"] for c in counts if not c["present"])
    return {"tables": tables, "absent_tables": absent, **totals}
