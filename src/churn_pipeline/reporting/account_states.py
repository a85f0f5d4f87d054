"""Every account's subscription state at given instants, from the contract tables.

The building blocks of :mod:`churn_pipeline.reporting.churn_analytics`: the
as-of lookups of plan, MRR and cancellation, and the account x month grid the
monthly tables sum over. Timing convention: the state "at" an instant counts
only the events dated strictly before it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from churn_pipeline.batching import row_batches
from churn_pipeline.validation.lifecycle import CANCELLATION, LIFECYCLE_EVENTS

logger = logging.getLogger(__name__)

VOLUNTARY = "voluntary"
INVOLUNTARY = "involuntary"

_ACCOUNT_COLUMNS = ("account_id", "signup_date", "plan", "mrr")
_EVENT_COLUMNS = ("account_id", "event_date", "event_type", "plan", "mrr", "churn_type")


def require_columns(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    """Raise naming the table and its columns if any of ``columns`` is missing."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(
            f"{name} lacks columns {missing}; available: {list(frame.columns)}"
        )


def rate(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Ratio that is 0.0 where the denominator is 0 (nothing could churn)."""
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    out = np.zeros_like(numerator)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def prepare(
    accounts: pd.DataFrame, events: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Copies keyed by account position, dates in ns, events in date order."""
    require_columns(accounts, _ACCOUNT_COLUMNS, "accounts")
    require_columns(events, _EVENT_COLUMNS, "subscription_events")
    acc = pd.DataFrame(
        {
            "code": np.arange(len(accounts)),
            "signup": pd.to_datetime(accounts["signup_date"].to_numpy()).astype(
                "datetime64[ns]"
            ),
            "plan": accounts["plan"].to_numpy(),
            "mrr": accounts["mrr"].to_numpy(dtype=float),
        }
    )
    # Integer codes make the as-of joins cheap and dtype-proof.
    codes = pd.Index(accounts["account_id"]).get_indexer(events["account_id"])
    ev = pd.DataFrame(
        {
            "code": codes,
            "event_date": pd.to_datetime(events["event_date"].to_numpy()).astype(
                "datetime64[ns]"
            ),
            "event_type": events["event_type"].to_numpy(),
            "plan": events["plan"].to_numpy(),
            "mrr": events["mrr"].to_numpy(dtype=float),
            "churn_type": events["churn_type"].to_numpy(),
        }
    )
    if (codes < 0).any():
        logger.warning("Ignoring %d events of unknown accounts", int((codes < 0).sum()))
        ev = ev[codes >= 0]
    # Stable, like the contract's alternation check: same-day events keep file order.
    return acc, ev.sort_values("event_date", kind="stable", ignore_index=True)


def _last_before(
    lookups: pd.DataFrame, events: pd.DataFrame, columns: list[str]
) -> pd.DataFrame:
    """Columns of each account's last event strictly before each lookup instant."""
    left = lookups[["code", "at"]].assign(row=np.arange(len(lookups)))
    left = left.sort_values("at", kind="stable")
    merged = pd.merge_asof(
        left,
        events[["code", "event_date", *columns]],
        left_on="at",
        right_on="event_date",
        by="code",
        direction="backward",
        allow_exact_matches=False,
    )
    return merged.set_index("row").sort_index()[columns]


# Accounts whose states are looked up at a time: each as-of join copies its
# lookups a few times over, and a million accounts x 25 month boundaries in one
# pass took ~8 GB (docs/benchmarks.md, "Whole run at scale").
STATE_BATCH_ACCOUNTS = 50_000


def state_at(
    acc: pd.DataFrame,
    ev: pd.DataFrame,
    codes: np.ndarray,
    at: np.ndarray,
    *,
    batch_accounts: int = STATE_BATCH_ACCOUNTS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whether each account is cancelled at each instant, and its plan and MRR.

    Accounts are looked up ``batch_accounts`` at a time (by code), each with
    its own events only, so memory follows the batch, not the accounts.

    Returns:
        ``cancelled`` (bool), ``plan`` and ``mrr``, one entry per lookup; plan and
        MRR are those after the last event, or at signup if there is none.
    """
    codes = np.asarray(codes)
    cancelled = np.zeros(len(codes), dtype=bool)
    plan = np.empty(len(codes), dtype=object)
    mrr = np.zeros(len(codes), dtype=float)
    for batch in row_batches(len(acc), batch_accounts, progress="Account states"):
        first, last = batch.start, batch.stop
        rows = np.flatnonzero((codes >= first) & (codes < last))
        if not len(rows):
            continue
        mine = ev[(ev["code"] >= first) & (ev["code"] < last)]
        cancelled[rows], plan[rows], mrr[rows] = _state_of(
            acc, mine, codes[rows], np.asarray(at)[rows]
        )
    return cancelled, plan, mrr


def _state_of(
    acc: pd.DataFrame, ev: pd.DataFrame, codes: np.ndarray, at: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`state_at` for one batch of lookups and those accounts' events."""
    lookups = pd.DataFrame({"code": codes, "at": at})
    # Lifecycle state from lifecycle events only: a plan change filed after a
    # same-day cancellation must not read as a reactivation.
    lifecycle = ev[ev["event_type"].isin(LIFECYCLE_EVENTS)]
    last_type = _last_before(lookups, lifecycle, ["event_type"])["event_type"]
    cancelled = (last_type == CANCELLATION).to_numpy()
    last = _last_before(lookups, ev, ["plan", "mrr"])
    has_event = last["mrr"].notna().to_numpy()
    plan = np.where(has_event, last["plan"], acc["plan"].to_numpy()[codes])
    mrr = np.where(has_event, last["mrr"], acc["mrr"].to_numpy()[codes])
    return cancelled, plan, mrr.astype(float)


def _complete_months(first_signup: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Month starts from the first on/after ``first_signup`` to the last complete.

    A month is complete when its last day is on or before ``end`` (the last
    observed day).
    """
    first = first_signup.to_period("M").to_timestamp()
    if first < first_signup:
        first += pd.DateOffset(months=1)
    after_end = end.normalize() + pd.Timedelta(days=1)
    last = after_end.to_period("M").to_timestamp() - pd.DateOffset(months=1)
    return pd.date_range(first, last, freq="MS")


class MonthGrid:
    """Every account's state at every month boundary, as (account, month) arrays."""

    def __init__(
        self, accounts: pd.DataFrame, events: pd.DataFrame, end: pd.Timestamp
    ) -> None:
        acc, ev = prepare(accounts, events)
        self.accounts = acc
        self.months = (
            _complete_months(acc["signup"].min(), pd.Timestamp(end))
            if len(acc)
            else pd.DatetimeIndex([])
        )
        n_accounts, n_months = len(acc), len(self.months)
        shape = (n_accounts, n_months)
        if n_months == 0:
            self.active_start = np.zeros(shape, dtype=bool)
            self.plan_start = np.empty(shape, dtype=object)
            self.mrr_start = self.mrr_end = np.zeros(shape)
            self.cancelled = self.voluntary = self.involuntary = self.active_start
            return
        bounds = self.months.append(
            pd.DatetimeIndex([self.months[-1] + pd.DateOffset(months=1)])
        )
        codes = np.repeat(acc["code"].to_numpy(), len(bounds))
        at = np.tile(bounds.to_numpy(), n_accounts)
        cancelled, plan, mrr = state_at(acc, ev, codes, at)
        signup = acc["signup"].to_numpy()[codes]
        active = ((signup < at) & ~cancelled).reshape(n_accounts, len(bounds))
        mrr = np.where(active, mrr.reshape(active.shape), 0.0)
        self.active_start = active[:, :-1]
        self.plan_start = plan.reshape(active.shape)[:, :-1]
        self.mrr_start = mrr[:, :-1]
        self.mrr_end = mrr[:, 1:]
        self._cancellations(ev, bounds, shape)

    def _cancellations(
        self, ev: pd.DataFrame, bounds: pd.DatetimeIndex, shape: tuple[int, int]
    ) -> None:
        """Who cancelled in each month, with the type of their first cancellation."""
        cancels = ev[
            (ev["event_type"] == CANCELLATION)
            & (ev["event_date"] >= bounds[0])
            & (ev["event_date"] < bounds[-1])
        ]
        month = np.searchsorted(bounds, cancels["event_date"].to_numpy(), "right") - 1
        # One lost logo per account and month, even if it cancels, comes back and
        # cancels again within the month; the first cancellation's type counts.
        first = cancels.assign(month=month).drop_duplicates(["code", "month"])
        rows, cols = first["code"].to_numpy(), first["month"].to_numpy()
        kinds = first["churn_type"].to_numpy()
        # Only accounts active at the start can churn out of the denominator.
        self.cancelled = np.zeros(shape, dtype=bool)
        self.cancelled[rows, cols] = True
        self.cancelled &= self.active_start
        self.voluntary = np.zeros(shape, dtype=bool)
        self.voluntary[rows[kinds == VOLUNTARY], cols[kinds == VOLUNTARY]] = True
        self.voluntary &= self.active_start
        self.involuntary = np.zeros(shape, dtype=bool)
        self.involuntary[rows[kinds == INVOLUNTARY], cols[kinds == INVOLUNTARY]] = True
        self.involuntary &= self.active_start

    def tenure_months(self) -> np.ndarray:
        """Whole calendar months from signup to each month start."""
        signup = pd.DatetimeIndex(self.accounts["signup"])
        signup_ym = signup.year * 12 + signup.month
        # A signup after the 1st at 00:00 has not completed its first month yet.
        partial = (signup != signup.to_period("M").to_timestamp()).astype(int)
        month_ym = self.months.year * 12 + self.months.month
        return (
            np.asarray(month_ym)[None, :]
            - np.asarray(signup_ym)[:, None]
            - np.asarray(partial)[:, None]
        )
