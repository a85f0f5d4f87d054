"""Nodes that validate raw tables; a broken table stops the run with a report."""

from __future__ import annotations

from typing import Any

import pandas as pd

from churn_pipeline.validation import validate_table


def validate_accounts(accounts: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Validate the accounts table.

    Args:
        accounts: Raw accounts.
        params: ``data_validation`` parameters (allowed values).

    Returns:
        Accounts with the contract's dtypes.
    """
    return validate_table("accounts", accounts, allowed_values=params["allowed_values"])


def _validate_related(
    table: str, raw: pd.DataFrame, accounts: pd.DataFrame, params: dict[str, Any]
) -> pd.DataFrame:
    return validate_table(
        table,
        raw,
        allowed_values=params["allowed_values"],
        usage_columns=params["usage_columns"],
        accounts=accounts,
    )


def validate_subscription_events(
    raw: pd.DataFrame, accounts: pd.DataFrame, params: dict[str, Any]
) -> pd.DataFrame:
    """Validate the plan changes and cancellations against the contract.

    Args:
        raw: The raw table.
        accounts: Validated accounts (foreign keys, signup dates).
        params: ``data_validation`` parameters.

    Returns:
        The table with the contract's dtypes.
    """
    return _validate_related("subscription_events", raw, accounts, params)


def validate_usage(
    raw: pd.DataFrame, accounts: pd.DataFrame, params: dict[str, Any]
) -> pd.DataFrame:
    """Validate the daily product usage against the contract.

    Args:
        raw: The raw table.
        accounts: Validated accounts (foreign keys, signup dates).
        params: ``data_validation`` parameters.

    Returns:
        The table with the contract's dtypes.
    """
    return _validate_related("usage", raw, accounts, params)


def validate_tickets(
    raw: pd.DataFrame, accounts: pd.DataFrame, params: dict[str, Any]
) -> pd.DataFrame:
    """Validate the support tickets against the contract.

    Args:
        raw: The raw table.
        accounts: Validated accounts (foreign keys, signup dates).
        params: ``data_validation`` parameters.

    Returns:
        The table with the contract's dtypes.
    """
    return _validate_related("tickets", raw, accounts, params)


def validate_invoices(
    raw: pd.DataFrame, accounts: pd.DataFrame, params: dict[str, Any]
) -> pd.DataFrame:
    """Validate the invoices against the contract.

    Args:
        raw: The raw table.
        accounts: Validated accounts (foreign keys, signup dates).
        params: ``data_validation`` parameters.

    Returns:
        The table with the contract's dtypes.
    """
    return _validate_related("invoices", raw, accounts, params)


def validate_nps_responses(
    raw: pd.DataFrame, accounts: pd.DataFrame, params: dict[str, Any]
) -> pd.DataFrame:
    """Validate the NPS responses against the contract.

    Args:
        raw: The raw table.
        accounts: Validated accounts (foreign keys, signup dates).
        params: ``data_validation`` parameters.

    Returns:
        The table with the contract's dtypes.
    """
    return _validate_related("nps_responses", raw, accounts, params)
