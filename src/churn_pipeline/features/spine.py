"""Which accounts are active at each as-of date, and whether they then cancel.

An account is active from signup; each cancellation or reactivation flips that.
Validation guarantees the two alternate per account (cancellation first), so an
account is cancelled at ``t`` exactly when an odd number of them is known at
``t``: a count, which reads the same on every engine even for same-day events.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import ibis
import pandas as pd
from ibis.expr.types import Table

from churn_pipeline.features.pit import KEYS, known_at, latest_value
from churn_pipeline.validation.lifecycle import CANCELLATION, LIFECYCLE_EVENTS

logger = logging.getLogger(__name__)


def as_of_dates(
    history_start: pd.Timestamp,
    observation_end: pd.Timestamp,
    *,
    min_history_days: int,
    max_snapshots: int,
) -> list[pd.Timestamp]:
    """Monthly as-of dates stepping back from the observation end.

    Args:
        history_start: The first recorded day.
        observation_end: The last day of data (the newest as-of date).
        min_history_days: History needed before the first as-of date.
        max_snapshots: At most this many dates.

    Returns:
        The dates, oldest first.

    Raises:
        ValueError: If no date fits.
    """
    earliest = history_start + pd.Timedelta(days=min_history_days)
    dates = [observation_end - pd.DateOffset(months=k) for k in range(max_snapshots)]
    fitting = sorted(pd.Timestamp(d) for d in dates if d >= earliest)
    if not fitting:
        raise ValueError(
            f"No as-of date fits: history starts {history_start.date()}, "
            f"observation ends {observation_end.date()}, "
            f"min_history_days={min_history_days}"
        )
    return fitting


def spine(
    accounts: Table,
    subscription_events: Table,
    dates: Sequence[pd.Timestamp],
    *,
    horizon_days: int,
    observation_end: pd.Timestamp,
    label_delay_days: int = 0,
) -> Table:
    """Active accounts per as-of date with their label.

    Args:
        accounts: ``account_id``, ``signup_date``.
        subscription_events: ``event_id``, ``account_id``, ``event_date``,
            ``event_type`` (validated: lifecycle events alternate).
        dates: The as-of dates.
        horizon_days: The label looks this many days ahead.
        observation_end: Labels need the whole horizon within the data.
        label_delay_days: Days after a churn before the data can show it (churn
            from a gap is known ``gap_days`` after the subscription ends): a
            label also needs these days within the data.

    Returns:
        ``account_id``, ``as_of_date``, ``label`` (1.0 when a cancellation falls
        in ``(t, t + horizon]``; null when that reaches past the data) and
        ``is_labelled``.
    """
    horizon = pd.Timedelta(days=horizon_days)
    known_by = observation_end - pd.Timedelta(days=label_delay_days)
    as_of = ibis.memtable(
        pd.DataFrame(
            {
                "as_of_date": pd.to_datetime(list(dates)).astype("datetime64[ns]"),
                "is_labelled": [d + horizon <= known_by for d in dates],
            }
        )
    )
    active = _active_accounts(accounts, subscription_events, as_of, dates)
    labelled = active.left_join(
        _churned_ahead(subscription_events, as_of, horizon_days), KEYS
    )
    return labelled.select(
        "account_id",
        "as_of_date",
        label=ibis.ifelse(
            labelled.is_labelled, labelled.churned.fill_null(0.0), ibis.null("float64")
        ),
        is_labelled=labelled.is_labelled,
    )


def _active_accounts(
    accounts: Table,
    subscription_events: Table,
    as_of: Table,
    dates: Sequence[pd.Timestamp],
) -> Table:
    """Accounts signed up and not cancelled at each of ``as_of``'s dates.

    Keeps the columns of ``as_of`` (``as_of_date``, ``is_labelled``).
    """
    signed_up = accounts.select("account_id", "signup_date").cross_join(as_of)
    signed_up = signed_up.filter(known_at(signed_up.signup_date, signed_up.as_of_date))
    lifecycle = subscription_events.filter(
        subscription_events.event_type.isin(LIFECYCLE_EVENTS)
    )
    order = ibis.window(group_by="account_id", order_by=["event_date", "event_id"])
    flips = latest_value(
        signed_up,
        lifecycle.mutate(flips=ibis.row_number().over(order) + 1),
        "event_date",
        "flips",
        dates,
    )
    return signed_up.left_join(flips, KEYS).filter((ibis._.value.fill_null(0) % 2) == 0)


def _churned_ahead(
    subscription_events: Table, as_of: Table, horizon_days: int
) -> Table:
    """Keys with a cancellation in ``(t, t + horizon]``, ``churned`` 1.0."""
    cancellations = subscription_events.filter(
        subscription_events.event_type == CANCELLATION
    )
    dates_only = as_of.select("as_of_date")
    # In (t, t + horizon]: not yet known at t, known at t + horizon.
    ahead = cancellations.join(
        dates_only,
        [
            ~known_at(cancellations.event_date, dates_only.as_of_date),
            known_at(
                cancellations.event_date,
                dates_only.as_of_date + ibis.interval(days=horizon_days),
            ),
        ],
    )
    return ahead.select(*KEYS).distinct().mutate(churned=ibis.literal(1.0))
