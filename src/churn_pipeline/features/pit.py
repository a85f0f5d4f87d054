"""Point-in-time building blocks shared by every feature group.

An as-of date ``t`` is a day. A record is known at ``t`` when it is dated before
the end of that day (``< t + 1 day``), so dates and timestamps follow one rule,
and a window of ``w`` days is ``(t - w days, t]`` in the same sense.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd
from ibis import Deferred
from ibis.expr.types import BooleanValue, IntegerValue, Table, TimestampValue

KEYS = ["account_id", "as_of_date"]
DAY = ibis.interval(days=1)


def known_at(moment: TimestampValue, as_of: TimestampValue) -> BooleanValue:
    """Whether a record dated ``moment`` is known at the end of day ``as_of``."""
    return moment < as_of + DAY


def in_window(moment: TimestampValue, as_of: TimestampValue, days: int) -> BooleanValue:
    """Whether ``moment`` falls in the ``days`` days up to and including ``as_of``."""
    return known_at(moment, as_of) & (moment >= as_of + DAY - ibis.interval(days=days))


def days_between(later: TimestampValue, earlier: TimestampValue) -> IntegerValue:
    """Whole calendar days from ``earlier`` to ``later``."""
    return later.date().delta(earlier.date(), unit="day")


def as_of_table(as_of_dates: Sequence[pd.Timestamp]) -> Table:
    """The as-of dates as a one-column table."""
    return ibis.memtable(
        pd.DataFrame({"as_of_date": pd.to_datetime(list(as_of_dates))}).astype(
            {"as_of_date": "datetime64[ns]"}
        )
    )


def windowed(
    table: Table, moment: str, as_of_dates: Sequence[pd.Timestamp], days: int
) -> Table:
    """Pair each record with every as-of date whose ``days``-day window holds it.

    A record lands in at most ``days / 30 + 1`` monthly windows, so this stays
    near the size of the table instead of growing with the number of dates.
    """
    as_of = as_of_table(as_of_dates)
    return table.join(as_of, [in_window(table[moment], as_of.as_of_date, days)])


def _bucket(
    moment: TimestampValue, as_of_dates: Sequence[pd.Timestamp]
) -> TimestampValue:
    """The first as-of date at which ``moment`` is known (null after the last)."""
    cases = [
        (known_at(moment, ibis.literal(t)), ibis.literal(t))
        for t in sorted(pd.Timestamp(d) for d in as_of_dates)
    ]
    return ibis.cases(*cases, else_=ibis.null("timestamp"))


def latest_value(
    keys: Table,
    table: Table,
    moment: str,
    value: str | Deferred,
    as_of_dates: Sequence[pd.Timestamp],
) -> Table:
    """The largest ``value`` among each account's records known at each as-of date.

    ``value`` must not decrease with ``moment`` within an account (the date
    itself, or a running number), so "largest" means "latest". Records are
    summarised per account and as-of interval, then carried forward in one
    ordered pass: nothing is replicated across dates.

    Args:
        keys: ``account_id`` and ``as_of_date`` rows to answer for.
        table: Records with ``account_id`` and ``moment``.
        moment: The date column.
        value: Column (or expression) to take the latest of.
        as_of_dates: Every as-of date in ``keys``.

    Returns:
        ``account_id``, ``as_of_date``, ``value`` (null when nothing is known).
    """
    values = table.mutate(value=value if isinstance(value, Deferred) else table[value])
    dtype = values.value.type()
    summary = (
        values.mutate(as_of_date=_bucket(values[moment], as_of_dates))
        .filter(ibis._.as_of_date.notnull())
        .group_by(KEYS)
        .aggregate(value=ibis._.value.max())
        .mutate(kind=ibis.literal(0))
    )
    asks = keys.select(*KEYS).mutate(value=ibis.null(dtype), kind=ibis.literal(1))
    stacked = summary.select(*KEYS, "value", "kind").union(asks)
    carried = ibis.window(
        group_by="account_id",
        order_by=["as_of_date", "kind"],
        preceding=None,
        following=0,
    )
    return (
        stacked.mutate(value=stacked.value.max().over(carried))
        .filter(ibis._.kind == 1)
        .select(*KEYS, "value")
    )


def latest_rows(
    keys: Table,
    table: Table,
    moment: str,
    tie_breaker: str,
    as_of_dates: Sequence[pd.Timestamp],
) -> Table:
    """Each account's latest record known at each as-of date, all its columns.

    Args:
        keys: ``account_id`` and ``as_of_date`` rows to answer for.
        table: Records with ``account_id``, ``moment`` and ``tie_breaker``.
        moment: The date column.
        tie_breaker: Orders records of the same date (e.g. their id).
        as_of_dates: Every as-of date in ``keys``.

    Returns:
        ``account_id``, ``as_of_date`` and the latest record's other columns;
        only rows where a record is known.
    """
    order = ibis.window(group_by="account_id", order_by=[moment, tie_breaker])
    numbered = table.mutate(seq=ibis.row_number().over(order))
    latest = latest_value(keys, numbered, moment, "seq", as_of_dates)
    return latest.join(numbered, ["account_id", latest.value == numbered.seq]).drop(
        "value", "seq"
    )
