"""An account's lifecycle: cancellations and reactivations alternate.

Validation and the spine read lifecycle events through these helpers, so what
counts as "active at t" is defined once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CANCELLATION = "cancellation"
REACTIVATION = "reactivation"
LIFECYCLE_EVENTS = (CANCELLATION, REACTIVATION)


def out_of_sequence(events: pd.DataFrame) -> pd.Series:
    """Lifecycle events that do not fit "active -> cancelled -> active -> ...".

    Each account starts active; a cancellation of an already cancelled account,
    or a reactivation of an active one, is out of sequence and is skipped, so
    the first consistent reading of the history wins.

    Args:
        events: ``account_id``, ``event_date`` and ``event_type`` columns.

    Returns:
        Boolean per row of ``events``; plan changes are never flagged.
    """
    lifecycle = events[events["event_type"].isin(LIFECYCLE_EVENTS)]
    ordered = lifecycle.sort_values(["account_id", "event_date"], kind="stable")
    cancelled: dict[object, bool] = {}
    out: list[object] = []
    # Sequential on purpose: whether a row fits depends on the rows kept before it.
    for index, account, kind in zip(
        ordered.index, ordered["account_id"], ordered["event_type"], strict=True
    ):
        is_cancelled = cancelled.get(account, False)
        if (kind == CANCELLATION) == is_cancelled:
            out.append(index)
        else:
            cancelled[account] = not is_cancelled
    return pd.Series(events.index.isin(out), index=events.index)


def cancelled_at(
    events: pd.DataFrame,
    account_ids: pd.Series,
    dates: pd.Series,
    *,
    inclusive: bool,
) -> np.ndarray:
    """Whether each account is in a cancelled stretch on the given date.

    Args:
        events: Events in sequence (see :func:`out_of_sequence`) with
            ``account_id``, ``event_date`` and ``event_type``.
        account_ids: Account of each lookup.
        dates: Date of each lookup (same length as ``account_ids``).
        inclusive: Whether an event dated exactly on the lookup date counts.

    Returns:
        Boolean array, one entry per lookup.
    """
    lifecycle = events.loc[
        events["event_type"].isin(LIFECYCLE_EVENTS),
        ["account_id", "event_date", "event_type"],
    ].sort_values("event_date", kind="stable")
    lookups = pd.DataFrame(
        {
            "account_id": np.asarray(account_ids),
            "date": pd.to_datetime(np.asarray(dates)).astype("datetime64[ns]"),
            "position": np.arange(len(account_ids)),
        }
    ).sort_values("date", kind="stable")
    lifecycle["event_date"] = lifecycle["event_date"].astype("datetime64[ns]")
    latest = pd.merge_asof(
        lookups,
        lifecycle,
        left_on="date",
        right_on="event_date",
        by="account_id",
        direction="backward",
        allow_exact_matches=inclusive,
    )
    cancelled = np.zeros(len(account_ids), dtype=bool)
    cancelled[latest["position"].to_numpy()] = (
        latest["event_type"] == CANCELLATION
    ).to_numpy()
    return cancelled
