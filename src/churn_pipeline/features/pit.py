"""Point-in-time building blocks shared by every feature group.

An as-of date ``t`` is a day. A record is known at ``t`` when it is dated before
the end of that day (``< t + 1 day``), so dates and timestamps follow one rule,
and a window of ``w`` days is ``(t - w days, t]`` in the same sense.

Records are matched to as-of dates through small in-memory tables of bucket
numbers (equi-joins), never through range joins, and "latest known" values are
pivoted per account (one aggregation) rather than carried forward with a window
over every spine row: both keep the work near one pass over each table.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd
from ibis import Deferred
from ibis.expr.types import (
    BooleanValue,
    IntegerValue,
    Table,
    TimestampValue,
    Value,
)

KEYS = ["account_id", "as_of_date"]
DAY = ibis.interval(days=1)
_ONE_DAY = pd.Timedelta(days=1)
BUCKET = "as_of_index"


def known_at(moment: TimestampValue, as_of: TimestampValue) -> BooleanValue:
    """Whether a record dated ``moment`` is known at the end of day ``as_of``."""
    return moment < as_of + DAY


def in_window(moment: TimestampValue, as_of: TimestampValue, days: int) -> BooleanValue:
    """Whether ``moment`` falls in the ``days`` days up to and including ``as_of``."""
    return known_at(moment, as_of) & (moment >= as_of + DAY - ibis.interval(days=days))


def days_between(later: TimestampValue, earlier: TimestampValue) -> IntegerValue:
    """Whole calendar days from ``earlier`` to ``later``."""
    return later.date().delta(earlier.date(), unit="day")


def sorted_dates(as_of_dates: Sequence[pd.Timestamp]) -> list[pd.Timestamp]:
    """The as-of dates as sorted, distinct timestamps."""
    return sorted({pd.Timestamp(d) for d in as_of_dates})


def _frame_dates(dates: Sequence[pd.Timestamp]) -> pd.Series:
    return pd.Series(pd.to_datetime(list(dates)), dtype="datetime64[ns]")


def as_of_table(as_of_dates: Sequence[pd.Timestamp]) -> Table:
    """The as-of dates as a one-column table."""
    return ibis.memtable(pd.DataFrame({"as_of_date": _frame_dates(as_of_dates)}))


def bucket(moment: TimestampValue, as_of_dates: Sequence[pd.Timestamp]) -> IntegerValue:
    """Index of the first (sorted) as-of date at which ``moment`` is known.

    Null when it is known at none (dated after the last as-of date).
    """
    dates = sorted_dates(as_of_dates)
    return ibis.cases(
        *((moment < ibis.literal(t + _ONE_DAY), k) for k, t in enumerate(dates)),
        else_=ibis.null("int64"),
    )


def pick(table: Table, columns: Sequence[str], as_of_dates: Sequence[pd.Timestamp]):
    """``columns[k]`` on rows of the ``k``-th (sorted) as-of date, else null."""
    dates = sorted_dates(as_of_dates)
    return ibis.cases(
        *(
            (table.as_of_date == ibis.literal(t), table[c])
            for t, c in zip(dates, columns, strict=True)
        ),
        else_=ibis.null(table[columns[0]].type()),
    )


def windowed(
    table: Table, moment: str, as_of_dates: Sequence[pd.Timestamp], days: int
) -> Table:
    """Pair each record with every as-of date whose ``days``-day window holds it.

    Each record gets the bucket number of the first as-of date that knows it,
    and is equi-joined to a small table of the as-of dates whose window can
    reach that bucket; the exact window test then drops the pairs outside it.
    A record lands in at most ``days / 30 + 1`` monthly windows, so this stays
    near the size of the table instead of growing with the number of dates.
    """
    dates = sorted_dates(as_of_dates)
    ends = [t + _ONE_DAY for t in dates]
    span = pd.Timedelta(days=days)
    pairs = [
        (b, dates[k])
        for b in range(len(dates))
        for k in range(b, len(dates))
        if ends[k] - span < ends[b]
    ]
    lanes = ibis.memtable(
        pd.DataFrame(
            {
                BUCKET: pd.Series([b for b, _ in pairs], dtype="int64"),
                "as_of_date": _frame_dates([t for _, t in pairs]),
            }
        )
    )
    recent = table.filter(table[moment] >= ibis.literal(ends[0] - span))
    recent = recent.mutate(**{BUCKET: bucket(recent[moment], dates)})
    paired = recent.join(lanes, BUCKET)
    return paired.filter(in_window(paired[moment], paired.as_of_date, days)).drop(
        BUCKET
    )


def known_maxima(
    value: Value,
    moment: TimestampValue,
    as_of_dates: Sequence[pd.Timestamp],
    prefix: str,
) -> dict[str, Value]:
    """Aggregates ``<prefix><k>``: the largest ``value`` known at the ``k``-th date.

    Meant for ``group_by("account_id").aggregate(...)``: one pass over the
    records gives every as-of date's answer, to be picked with :func:`pick`.
    """
    dates = sorted_dates(as_of_dates)
    return {
        f"{prefix}{k}": ibis.ifelse(
            moment < ibis.literal(t + _ONE_DAY), value, None
        ).max()
        for k, t in enumerate(dates)
    }


def latest_value(
    keys: Table,
    table: Table,
    moment: str,
    value: str | Deferred,
    as_of_dates: Sequence[pd.Timestamp],
) -> Table:
    """The largest ``value`` among each account's records known at each as-of date.

    ``value`` must not decrease with ``moment`` within an account (the date
    itself, or a running number), so "largest" means "latest". Each account's
    records are summarised in one aggregation with one column per as-of date;
    the answer for a key row is the column of its date: nothing is replicated
    across dates and no window runs over the keys.

    Args:
        keys: ``account_id`` and ``as_of_date`` rows to answer for.
        table: Records with ``account_id`` and ``moment``.
        moment: The date column.
        value: Column (or expression) to take the latest of.
        as_of_dates: Every as-of date in ``keys``.

    Returns:
        ``account_id``, ``as_of_date``, ``value`` (null when nothing is known).
    """
    dates = sorted_dates(as_of_dates)
    values = table.mutate(value=value if isinstance(value, Deferred) else table[value])
    per_account = values.group_by("account_id").aggregate(
        **known_maxima(values.value, values[moment], dates, "_known_")
    )
    columns = [f"_known_{k}" for k in range(len(dates))]
    asked = (
        keys.select(*KEYS).left_join(per_account, "account_id").select(*KEYS, *columns)
    )
    return asked.select(*KEYS, value=pick(asked, columns, dates))


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
