"""Support load, backlog, speed, priority and satisfaction per as-of date."""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd
from ibis.expr.types import Table

from churn_pipeline.features.pit import (
    DAY,
    KEYS,
    as_of_table,
    days_between,
    in_window,
    known_at,
    windowed,
)
from churn_pipeline.features.specs import TICKET_WINDOWS

HIGH_PRIORITIES = ("high", "urgent")
BURST_TICKETS = 3
OPEN_TOO_LONG_DAYS = 5
_LONGEST = max(TICKET_WINDOWS)
_SECONDS_PER_DAY = 86_400.0


def ticket_features(
    spine: Table, tickets: Table, dates: Sequence[pd.Timestamp]
) -> Table:
    """Ticket features per spine row (see the registry for each definition).

    Args:
        spine: ``account_id``, ``as_of_date``.
        tickets: Validated tickets (``opened_at``, ``closed_at``, ``priority``,
            ``satisfaction``).
        dates: The as-of dates.

    Returns:
        Keys plus the ticket features of the registry.
    """
    t = (
        spine.select(*KEYS)
        .left_join(_recent_tickets(tickets, dates), KEYS)
        .left_join(_backlog(tickets, dates), KEYS)
        .left_join(_resolution(tickets, dates), KEYS)
    )

    def count(name: str) -> ibis.expr.types.NumericValue:
        return t[name].fill_null(0).cast("float64")

    return t.select(
        "account_id",
        "as_of_date",
        **{f"tickets_{d}d": count(f"tickets_{d}d") for d in TICKET_WINDOWS},
        ticket_burst_7d=ibis.ifelse(count("tickets_7d") >= BURST_TICKETS, 1.0, 0.0),
        tickets_open=count("tickets_open"),
        tickets_open_over_5d=count("tickets_open_over_5d"),
        oldest_open_ticket_days=count("oldest_open_ticket_days"),
        high_priority_share_90d=ibis.ifelse(
            count("tickets_90d") > 0, count("high_90d") / count("tickets_90d"), 0.0
        ),
        mean_resolution_days_90d=t.mean_resolution_days_90d.cast("float64"),
        mean_satisfaction_90d=t.mean_satisfaction_90d.cast("float64"),
    )


def _recent_tickets(tickets: Table, dates: Sequence[pd.Timestamp]) -> Table:
    """Tickets opened in each window, and high-priority ones in the longest."""
    opened = windowed(tickets, "opened_at", dates, _LONGEST)
    is_high = opened.priority.isin(HIGH_PRIORITIES)
    return opened.group_by(KEYS).aggregate(
        **{
            f"tickets_{d}d": ibis.ifelse(
                in_window(opened.opened_at, opened.as_of_date, d), 1, 0
            ).sum()
            for d in TICKET_WINDOWS
        },
        high_90d=ibis.ifelse(is_high, 1, 0).sum(),
    )


def _backlog(tickets: Table, dates: Sequence[pd.Timestamp]) -> Table:
    """Tickets open at each as-of date: how many, how many for long, the oldest."""
    as_of = as_of_table(dates)
    still_open = tickets.join(
        as_of,
        [
            known_at(tickets.opened_at, as_of.as_of_date),
            tickets.closed_at.isnull() | ~known_at(tickets.closed_at, as_of.as_of_date),
        ],
    )
    return still_open.group_by(KEYS).aggregate(
        tickets_open=still_open.count(),
        tickets_open_over_5d=ibis.ifelse(
            still_open.opened_at
            < still_open.as_of_date + DAY - ibis.interval(days=OPEN_TOO_LONG_DAYS),
            1,
            0,
        ).sum(),
        oldest_open_ticket_days=days_between(
            still_open.as_of_date, still_open.opened_at
        ).max(),
    )


def _resolution(tickets: Table, dates: Sequence[pd.Timestamp]) -> Table:
    """Mean resolution days and satisfaction of the tickets closed in the window."""
    closed = windowed(
        tickets.filter(tickets.closed_at.notnull()), "closed_at", dates, _LONGEST
    )
    return closed.group_by(KEYS).aggregate(
        mean_resolution_days_90d=(
            # Spark divides integers as decimals of limited scale: use floats.
            (closed.closed_at.epoch_seconds() - closed.opened_at.epoch_seconds()).cast(
                "float64"
            )
            / _SECONDS_PER_DAY
        ).mean(),
        mean_satisfaction_90d=closed.satisfaction.mean(),
    )
