"""Daily usage per account from event-level usage, by configured aggregations.

The contract's usage table has one row per account and active day with count
columns. An export with one row per feature event becomes that table by naming,
per contract column, how the day's events are summarised, for example::

    logins: {op: count}                          # events that day
    feature_uses: {op: sum, column: usage_count}
    features_used: {op: nunique, column: feature}
    logins: {op: count, where: {event_type: [login]}}   # only those events

Events belong to an account either directly (an ``account_id`` column) or
through their subscription (``subscription_id``); timestamps count on their day.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

logger = logging.getLogger(__name__)

AGGREGATIONS = ("count", "sum", "nunique")


def _check(aggregations: Mapping[str, Mapping[str, Any]], columns: pd.Index) -> None:
    if not aggregations:
        raise ValueError("No usage aggregations configured (ingestion.usage)")
    for target, spec in aggregations.items():
        op = spec.get("op")
        if op not in AGGREGATIONS:
            raise ValueError(
                f"Usage column {target!r}: unknown op {op!r}; "
                f"allowed: {list(AGGREGATIONS)}"
            )
        needed = [*(spec.get("where") or {})]
        if op != "count":
            needed.insert(0, spec.get("column"))
        for source in needed:
            if source not in columns:
                raise ValueError(
                    f"Usage column {target!r}: source column {source!r} not in "
                    f"the usage events; they have {sorted(columns)}"
                )


def _selected(events: pd.DataFrame, where: Mapping[str, Any] | None) -> pd.DataFrame:
    """The events whose columns hold one of the listed values (all: no filter)."""
    keep = pd.Series(True, index=events.index)
    for column, values in (where or {}).items():
        keep &= events[column].isin(list(values))
    return events[keep]


def daily_usage(
    usage_events: pd.DataFrame,
    subscriptions: pd.DataFrame,
    aggregations: Mapping[str, Mapping[str, Any]],
) -> pd.DataFrame:
    """Summarise usage events into one row per account and day.

    Args:
        usage_events: Validated events with ``account_id`` or
            ``subscription_id``, ``usage_date`` (a day or a timestamp) and the
            columns the aggregations read.
        subscriptions: Validated periods (``subscription_id`` -> ``account_id``).
        aggregations: Contract column -> ``{op, column, where}``; ``op`` is one
            of ``AGGREGATIONS`` (``count`` needs no column); ``where`` keeps
            only events whose column holds one of the listed values.

    Returns:
        ``account_id``, ``usage_date`` (the day) and one integer column per
        aggregation, sorted by account and day.

    Raises:
        ValueError: On an unknown op or a missing source column.
    """
    _check(aggregations, usage_events.columns)
    events = usage_events.assign(usage_date=usage_events["usage_date"].dt.normalize())
    if "account_id" not in events.columns:
        owner = subscriptions.set_index("subscription_id")["account_id"]
        events["account_id"] = events["subscription_id"].map(owner)
    keys = ["account_id", "usage_date"]
    # Every account-day with an event is a row, even with no event selected.
    days = events[keys].drop_duplicates().set_index(keys).sort_index().index
    columns = {}
    for target, spec in aggregations.items():
        grouped = _selected(events, spec.get("where")).groupby(keys, sort=True)
        if spec["op"] == "count":
            columns[target] = grouped.size()
        else:
            columns[target] = grouped[spec["column"]].agg(spec["op"])
    daily = pd.DataFrame(columns, index=days).fillna(0).astype("int64").reset_index()
    logger.info(
        "Usage: %d events -> %d account-days (%s)",
        len(usage_events),
        len(daily),
        ", ".join(aggregations),
    )
    return daily
