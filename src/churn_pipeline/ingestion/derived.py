"""Ids, signup dates and accounts derived when an export does not have them.

Every derivation is deterministic (the same export gives the same values) and
logs one INFO line; the ingestion report counts the rows it filled.
"""

from __future__ import annotations

import logging

import pandas as pd

logger = logging.getLogger(__name__)

# Source table -> (its key, the columns a derived key is made of; none: the row).
DERIVED_KEYS: dict[str, tuple[str, tuple[str, ...]]] = {
    "subscriptions": ("subscription_id", ("account_id", "start_date")),
    "churn_events": ("churn_event_id", ("account_id", "churn_date")),
    "usage_events": ("usage_id", ()),
}
_PREFIX = {"subscriptions": "S", "churn_events": "C", "usage_events": "U"}
# What a derived account takes from its first period.
ACCOUNT_TERMS = ("plan", "seats", "mrr", "billing_cycle")


def _day(values: pd.Series) -> pd.Series:
    """Dates as days, so "2024-01-05" and a timestamp of that day match."""
    parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    # Unreadable dates keep their text; validation rejects them by name.
    return parsed.dt.strftime("%Y-%m-%d").fillna(values.astype(str))


def with_derived_key(table: str, data: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Give ``data`` its key column when the export has none.

    Subscriptions get ``S-<account>-<start day>``, churn events
    ``C-<account>-<churn day>`` (a second row of the same account and day gets
    ``-2``, and so on, in row order); usage events ``U-<row number>``.

    Args:
        table: A source table (``DERIVED_KEYS``).
        data: The mapped export.

    Returns:
        The data with its key, and how many keys were derived (0: it had one).

    Raises:
        ValueError: If a column the key is made of is missing too.
    """
    key, parts = DERIVED_KEYS[table]
    if key in data.columns:
        return data, 0
    missing = [column for column in parts if column not in data.columns]
    if missing:
        raise ValueError(
            f"Source table '{table}' has no {key!r} and no {missing} to derive it "
            f"from; map a column to {key!r} (ingestion.mappings.{table}.columns)"
        )
    prefix = _PREFIX[table]
    if not parts:
        rows = pd.Series(range(1, len(data) + 1), index=data.index)
        ids = prefix + "-" + rows.astype(str)
    else:
        account, day = parts
        ids = prefix + "-" + data[account].astype(str) + "-" + _day(data[day])
        repeat = ids.groupby(ids).cumcount()
        ids = ids.where(repeat == 0, ids + "-" + (repeat + 1).astype(str))
    logger.info(
        "Source table '%s' has no %s: derived %d from %s",
        table,
        key,
        len(data),
        list(parts) or "the row number",
    )
    return data.assign(**{key: ids}), len(data)


def first_periods(subscriptions: pd.DataFrame) -> pd.DataFrame:
    """Each account's first period (the earliest start; ties by id)."""
    return (
        subscriptions.sort_values(["start_date", "subscription_id"], kind="stable")
        .drop_duplicates("account_id")
        .set_index("account_id")
    )


def with_signup_dates(
    accounts: pd.DataFrame, subscriptions: pd.DataFrame
) -> tuple[pd.DataFrame, int]:
    """Give accounts their first period's start as signup date.

    Args:
        accounts: Source accounts without a signup date.
        subscriptions: Validated periods.

    Returns:
        The accounts with ``signup_date`` (null for an account without any
        period, which the contract then rejects by name), and how many got one.
    """
    starts = first_periods(subscriptions)["start_date"].rename("signup_date")
    filled = accounts.join(starts, on="account_id")
    count = int(filled["signup_date"].notna().sum())
    logger.info(
        "Source accounts have no signup date: %d derived from the first period",
        count,
    )
    return filled, count


def accounts_from_periods(subscriptions: pd.DataFrame) -> pd.DataFrame:
    """Accounts when the export has no accounts table.

    Args:
        subscriptions: Validated periods.

    Returns:
        One row per account: ``account_id``, ``signup_date`` (its first
        period's start) and that period's plan, seats, MRR and billing cycle.
        The contract's other account fields come from
        ``data_validation.mappings.accounts.constants``.
    """
    first = first_periods(subscriptions)
    accounts = first[list(ACCOUNT_TERMS)].assign(signup_date=first["start_date"])
    accounts = accounts.reset_index()[["account_id", "signup_date", *ACCOUNT_TERMS]]
    logger.info(
        "No source accounts table: derived %d accounts from their first period "
        "(signup date, plan, seats, MRR, billing cycle)",
        len(accounts),
    )
    return accounts
