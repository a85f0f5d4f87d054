"""Churn events derived from subscription periods: no renewal within a gap.

Carl Gold's definition (*Fighting Churn with Data*): an account's periods that
overlap, or follow each other within ``gap_days``, are one continuous
subscription; the account churns on the day that subscription ends, when no
period of the account starts within ``gap_days`` after it. A period without an
end date is open: the account is active while it lasts (or, when
``term_days`` gives a term per billing cycle, it ends one term after its
start). A subscription ending so late that its gap is not over by the end of
the data is not churn yet: it is censored, and counted as such. A period
starting after a gap brings the account back (``periods.py`` reads it as a
reactivation).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pandas as pd

logger = logging.getLogger(__name__)

CHURN_SOURCES = ("events", "gap")
CHURN_EVENT_COLUMNS = (
    "churn_event_id",
    "account_id",
    "churn_date",
    "churn_type",
    "reason",
    "is_reactivation",
)
# Open periods end "never": a date later than any data, safe to compare.
_OPEN = pd.Timestamp("2262-01-01")


def period_ends(
    subscriptions: pd.DataFrame, term_days: Mapping[str, int] | None = None
) -> pd.Series:
    """Each period's end: its end date, else one term after its start, else open.

    Args:
        subscriptions: Periods with ``start_date``, ``end_date``, ``billing_cycle``.
        term_days: Days per billing cycle for periods without an end date;
            ``None``: such periods are open.

    Returns:
        The ends; open periods get a date far beyond any data.

    Raises:
        ValueError: If ``term_days`` lacks a billing cycle of an open period.
    """
    ends = subscriptions["end_date"]
    if term_days is None:
        return ends.fillna(_OPEN)
    open_cycles = subscriptions.loc[ends.isna(), "billing_cycle"]
    missing = sorted(set(open_cycles) - set(term_days))
    if missing:
        raise ValueError(
            f"ingestion.churn.term_days has no term for billing cycle(s) {missing} "
            f"of periods without an end date; it has {sorted(term_days)}"
        )
    terms = pd.to_timedelta(subscriptions["billing_cycle"].map(term_days), unit="D")
    return ends.fillna(subscriptions["start_date"] + terms)


def gap_churn_events(
    subscriptions: pd.DataFrame,
    *,
    gap_days: int,
    data_end: pd.Timestamp,
    churn_type: str,
    reason: str,
    term_days: Mapping[str, int] | None = None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Derive churn events from periods (see the module docstring).

    Args:
        subscriptions: Validated periods (``account_id``, ``start_date``,
            ``end_date``, ``billing_cycle``).
        gap_days: Days a new period may start after the last one ended and
            still continue the subscription.
        data_end: The last day of the data; a subscription ending less than
            ``gap_days`` before it is censored, not churned.
        churn_type: The churn type every derived event gets.
        reason: The reason every derived event gets.
        term_days: Days per billing cycle for periods without an end date.

    Returns:
        Churn events in the source churn-events columns (ids
        ``gap-<account>-<date>``), and the accounting: ``gap_churn_events``
        (= ``gap_churns_followed_by_a_period`` + ``gap_accounts_churned``) and
        the accounts' state at the end (``gap_accounts_open`` +
        ``gap_accounts_censored`` + ``gap_accounts_churned`` = accounts).

    Raises:
        RuntimeError: If the accounting does not add up.
    """
    periods = subscriptions.assign(
        cover_end=period_ends(subscriptions, term_days)
    ).sort_values(["account_id", "start_date", "cover_end"], kind="stable")
    by_account = periods.groupby("account_id", sort=False)["cover_end"]
    # The end of the subscription so far, before each period starts.
    covered = by_account.cummax()
    before = covered.groupby(periods["account_id"], sort=False).shift()
    gap = pd.Timedelta(days=gap_days)
    # Compared as start - gap to stay clear of the far "open" date.
    after_gap = before.notna() & (periods["start_date"] - gap > before)
    interior = pd.DataFrame(
        {"account_id": periods["account_id"], "churn_date": before}
    )[after_gap]
    last = covered.groupby(periods["account_id"], sort=False).last()
    is_open = last >= _OPEN
    censored = ~is_open & (last > data_end - gap)
    churned = ~is_open & ~censored
    final = pd.DataFrame(
        {"account_id": last.index[churned], "churn_date": last[churned].to_numpy()}
    )
    events = _churn_frame(pd.concat([interior, final]), churn_type, reason)
    counts = {
        "gap_churn_events": len(events),
        "gap_churns_followed_by_a_period": len(interior),
        "gap_accounts_open": int(is_open.sum()),
        "gap_accounts_censored": int(censored.sum()),
        "gap_accounts_churned": int(churned.sum()),
    }
    _check(counts, accounts=len(last))
    logger.info(
        "Churn from gaps of more than %d days (data end %s): %s",
        gap_days,
        data_end.date(),
        counts,
    )
    return events, counts


def _churn_frame(found: pd.DataFrame, churn_type: str, reason: str) -> pd.DataFrame:
    """Churn events in the source columns, sorted by account and date."""
    found = found.sort_values(["account_id", "churn_date"], kind="stable")
    ids = "gap-" + found["account_id"].astype(str) + "-"
    ids += found["churn_date"].dt.strftime("%Y-%m-%d")
    frame = found.assign(
        churn_event_id=ids,
        churn_type=churn_type,
        reason=reason,
        is_reactivation=False,
    )
    return frame[list(CHURN_EVENT_COLUMNS)].reset_index(drop=True)


def _check(counts: dict[str, int], *, accounts: int) -> None:
    states = (
        counts["gap_accounts_open"]
        + counts["gap_accounts_censored"]
        + counts["gap_accounts_churned"]
    )
    churns = counts["gap_churns_followed_by_a_period"] + counts["gap_accounts_churned"]
    if states != accounts or churns != counts["gap_churn_events"]:
        raise RuntimeError(f"Gap churn accounting does not add up: {counts}")
