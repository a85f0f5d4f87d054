"""Nodes that validate raw tables: strict (stop the run) or quarantine bad rows."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from churn_pipeline.validation import (
    ValidationResult,
    resolve_max_date,
    validate_table,
)
from churn_pipeline.validation.mapping import apply_mapping

logger = logging.getLogger(__name__)

ValidationOutputs = tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]


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


def validate_accounts(raw: pd.DataFrame, params: dict[str, Any]) -> ValidationOutputs:
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
        _mapped("accounts", raw, params),
        allowed_values=params["allowed_values"],
        max_date=resolve_max_date(params.get("max_date")),
        mode=params["mode"],
    )
    return _outputs(result)


def _validate_related(
    table: str,
    raw: pd.DataFrame | None,
    accounts: pd.DataFrame,
    rejected_accounts: pd.DataFrame,
    params: dict[str, Any],
) -> ValidationOutputs:
    result = validate_table(
        table,
        _mapped(table, raw, params),
        allowed_values=params["allowed_values"],
        usage_columns=params["usage_columns"],
        accounts=accounts,
        rejected_account_ids=_ids(rejected_accounts),
        max_date=resolve_max_date(params.get("max_date")),
        mode=params["mode"],
    )
    return _outputs(result)


def validate_subscription_events(
    raw: pd.DataFrame | None,
    accounts: pd.DataFrame,
    rejected_accounts: pd.DataFrame,
    params: dict[str, Any],
) -> ValidationOutputs:
    """Validate plan changes and cancellations; rows of rejected accounts cascade.

    Args:
        raw: The raw table (``None`` when declared absent).
        accounts: Accepted accounts (foreign keys, signup dates).
        rejected_accounts: Rejected accounts (their rows cascade).
        params: ``data_validation`` parameters.

    Returns:
        Accepted rows, rejected rows with their rules, row accounting.
    """
    return _validate_related(
        "subscription_events", raw, accounts, rejected_accounts, params
    )


def validate_usage(
    raw: pd.DataFrame | None,
    accounts: pd.DataFrame,
    rejected_accounts: pd.DataFrame,
    params: dict[str, Any],
) -> ValidationOutputs:
    """Validate the daily product usage; rows of rejected accounts cascade.

    Args:
        raw: The raw table (``None`` when declared absent).
        accounts: Accepted accounts (foreign keys, signup dates).
        rejected_accounts: Rejected accounts (their rows cascade).
        params: ``data_validation`` parameters.

    Returns:
        Accepted rows, rejected rows with their rules, row accounting.
    """
    return _validate_related("usage", raw, accounts, rejected_accounts, params)


def validate_tickets(
    raw: pd.DataFrame | None,
    accounts: pd.DataFrame,
    rejected_accounts: pd.DataFrame,
    params: dict[str, Any],
) -> ValidationOutputs:
    """Validate the support tickets; rows of rejected accounts cascade.

    Args:
        raw: The raw table (``None`` when declared absent).
        accounts: Accepted accounts (foreign keys, signup dates).
        rejected_accounts: Rejected accounts (their rows cascade).
        params: ``data_validation`` parameters.

    Returns:
        Accepted rows, rejected rows with their rules, row accounting.
    """
    return _validate_related("tickets", raw, accounts, rejected_accounts, params)


def validate_invoices(
    raw: pd.DataFrame | None,
    accounts: pd.DataFrame,
    rejected_accounts: pd.DataFrame,
    params: dict[str, Any],
) -> ValidationOutputs:
    """Validate the invoices; rows of rejected accounts cascade.

    Args:
        raw: The raw table (``None`` when declared absent).
        accounts: Accepted accounts (foreign keys, signup dates).
        rejected_accounts: Rejected accounts (their rows cascade).
        params: ``data_validation`` parameters.

    Returns:
        Accepted rows, rejected rows with their rules, row accounting.
    """
    return _validate_related("invoices", raw, accounts, rejected_accounts, params)


def validate_nps_responses(
    raw: pd.DataFrame | None,
    accounts: pd.DataFrame,
    rejected_accounts: pd.DataFrame,
    params: dict[str, Any],
) -> ValidationOutputs:
    """Validate the NPS responses; rows of rejected accounts cascade.

    Args:
        raw: The raw table (``None`` when declared absent).
        accounts: Accepted accounts (foreign keys, signup dates).
        rejected_accounts: Rejected accounts (their rows cascade).
        params: ``data_validation`` parameters.

    Returns:
        Accepted rows, rejected rows with their rules, row accounting.
    """
    return _validate_related("nps_responses", raw, accounts, rejected_accounts, params)


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
