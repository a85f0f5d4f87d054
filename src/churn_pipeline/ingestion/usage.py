"""Daily usage per account from event-level usage, by configured aggregations.

The contract's usage table has one row per account and active day with count
columns. An export with one row per feature event becomes that table by naming,
per contract column, how the day's events are summarised, for example::

    logins: {op: count}                          # events that day
    feature_uses: {op: sum, column: usage_count}
    features_used: {op: nunique, column: feature}
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
        source = spec.get("column")
        if op != "count" and source not in columns:
            raise ValueError(
                f"Usage column {target!r}: source column {source!r} not in the "
                f"usage events; they have {sorted(columns)}"
            )


def daily_usage(
    usage_events: pd.DataFrame,
    subscriptions: pd.DataFrame,
    aggregations: Mapping[str, Mapping[str, Any]],
) -> pd.DataFrame:
    """Summarise usage events into one row per account and day.

    Args:
        usage_events: Validated events with ``subscription_id``, ``usage_date``
            and the columns the aggregations read.
        subscriptions: Validated periods (``subscription_id`` -> ``account_id``).
        aggregations: Contract column -> ``{op, column}``; ``op`` is one of
            ``AGGREGATIONS`` (``count`` needs no column).

    Returns:
        ``account_id``, ``usage_date`` (the day) and one integer column per
        aggregation, sorted by account and day.

    Raises:
        ValueError: On an unknown op or a missing source column.
    """
    _check(aggregations, usage_events.columns)
    owner = subscriptions.set_index("subscription_id")["account_id"]
    events = usage_events.assign(
        account_id=usage_events["subscription_id"].map(owner),
        usage_date=usage_events["usage_date"].dt.normalize(),
    )
    grouped = events.groupby(["account_id", "usage_date"], sort=True)
    columns = {}
    for target, spec in aggregations.items():
        if spec["op"] == "count":
            columns[target] = grouped.size()
        else:
            columns[target] = grouped[spec["column"]].agg(spec["op"])
    daily = pd.DataFrame(columns).fillna(0).astype("int64").reset_index()
    logger.info(
        "Usage: %d events -> %d account-days (%s)",
        len(usage_events),
        len(daily),
        ", ".join(aggregations),
    )
    return daily
