"""Hypothesis strategies: small, contract-valid raw tables around an as-of day.

Days are counted from ``ORIGIN`` (day 0) to ``LAST_DAY``. Usage, invoices,
NPS answers and signups fall on whole days; tickets carry a time of day, and
subscription events do in some examples. Allowed values come from
``conf/base/parameters_data_validation.yml``.

:func:`split_worlds` draws one *past* for an as-of day ``cut`` (accounts signed
up by then, with every record known at the end of that day) and two independent
*futures*: every record dated after ``cut``, the closing of tickets still open
at its end, and accounts signing up later. Both futures number their records
alike (``fE0``, ``fT0``, ...), so a record of one future is the same record
altered in the other, or added, or removed, while the past is shared. Each
future continues the lifecycle where the past left it, so both worlds keep the
data contract (cancellations and reactivations alternate, no plan change while
cancelled, tickets close after they open, satisfaction only once closed).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from hypothesis import strategies as st

from churn_pipeline.validation.lifecycle import (
    CANCELLATION,
    LIFECYCLE_EVENTS,
    REACTIVATION,
)

_CONF = Path(__file__).resolve().parents[2] / "conf" / "base"
_VALIDATION = yaml.safe_load(
    (_CONF / "parameters_data_validation.yml").read_text(encoding="utf-8")
)["data_validation"]
ALLOWED: dict[str, list[str]] = _VALIDATION["allowed_values"]
USAGE_COLUMNS: tuple[str, ...] = tuple(_VALIDATION["usage_columns"])

DAY = pd.Timedelta(days=1)
ORIGIN = pd.Timestamp("2023-10-01")
LAST_DAY = 399  # 2024-11-03
# First day of usage history (the features' ``usage_start``); no usage before.
USAGE_START_DAY = 30
_PLAN_CHANGES = tuple(
    t for t in ALLOWED["event_type"] if t not in LIFECYCLE_EVENTS
)  # upgrade, downgrade, seat_change
_ACTIVE_EVENTS = (*_PLAN_CHANGES, CANCELLATION, CANCELLATION)
_MAX_TICKET_SECONDS = 20 * 86_400

# Column -> Ibis type of each table, in the contract's order.
COLUMNS: dict[str, dict[str, str]] = {
    "accounts": {
        "account_id": "string",
        "signup_date": "timestamp",
        "plan": "string",
        "seats": "int64",
        "mrr": "float64",
        "billing_cycle": "string",
        "industry": "string",
        "country": "string",
        "acquisition_channel": "string",
        "discount_pct": "float64",
    },
    "subscription_events": {
        "event_id": "string",
        "account_id": "string",
        "event_date": "timestamp",
        "event_type": "string",
        "plan": "string",
        "seats": "int64",
        "mrr": "float64",
        "churn_type": "string",
        "reason": "string",
    },
    "usage": {
        "account_id": "string",
        "usage_date": "timestamp",
        **dict.fromkeys(USAGE_COLUMNS, "int64"),
    },
    "tickets": {
        "ticket_id": "string",
        "account_id": "string",
        "opened_at": "timestamp",
        "closed_at": "timestamp",
        "priority": "string",
        "satisfaction": "float64",
    },
    "invoices": {
        "invoice_id": "string",
        "account_id": "string",
        "invoice_date": "timestamp",
        "amount": "float64",
        "status": "string",
        "attempts": "int64",
    },
    "nps_responses": {
        "response_id": "string",
        "account_id": "string",
        "response_date": "timestamp",
        "score": "int64",
    },
}
_PANDAS_DTYPES = {
    "string": "object",
    "timestamp": "datetime64[ns]",
    "int64": "int64",
    "float64": "float64",
}

Rows = dict[str, list[dict[str, Any]]]
World = dict[str, pd.DataFrame]


def day_start(day: int) -> pd.Timestamp:
    """Midnight at the start of ``day``."""
    return ORIGIN + day * DAY


def days(lo: int, hi: int, hot: Sequence[int] = ()) -> st.SearchStrategy[int]:
    """A day in ``lo .. hi``: often its first or last day (the as-of day, or the
    day after it), or one of the ``hot`` days (window and horizon edges)."""
    ends = st.sampled_from(sorted({lo, hi}))
    near = sorted({h for h in hot if lo <= h <= hi})
    uniform = st.integers(lo, hi)
    if not near:
        return ends | uniform
    hot_day = st.sampled_from(near)
    return st.one_of(ends, hot_day, hot_day, uniform)


# A time of day in seconds: often midnight, one second past it, noon or the
# last second of the day (the edges of "known by the end of the day").
_TIME_OF_DAY = st.one_of(
    st.sampled_from([0, 1, 43_200, 86_399]), st.integers(0, 86_399)
)


def frames(rows: Rows) -> World:
    """The tables as pandas frames with the contract's columns and dtypes."""
    return {
        name: pd.DataFrame(rows[name], columns=list(columns)).astype(
            {c: _PANDAS_DTYPES[t] for c, t in columns.items()}
        )
        for name, columns in COLUMNS.items()
    }


class _Ids:
    """Record ids ``<prefix><letter><n>``, numbered per table from 0."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.counts: dict[str, int] = {}

    def next(self, letter: str) -> str:
        n = self.counts.get(letter, 0)
        self.counts[letter] = n + 1
        return f"{self.prefix}{letter}{n}"


@dataclass
class _Account:
    """Where an account stands: its terms, whether cancelled, open tickets."""

    account_id: str
    signup: int
    plan: str
    seats: int
    cancelled: bool = False
    # Tickets opened in the past but not closed by its end: a future decides.
    pending: list[dict[str, Any]] = field(default_factory=list)


def _signup(draw: st.DrawFn, account_id: str, signup: int, rows: Rows) -> _Account:
    plan = draw(st.sampled_from(ALLOWED["plan"]))
    seats = draw(st.integers(1, 50))
    rows["accounts"].append(
        {
            "account_id": account_id,
            "signup_date": day_start(signup),
            "plan": plan,
            "seats": seats,
            "mrr": float(draw(st.integers(0, 5_000))),
            "billing_cycle": draw(st.sampled_from(ALLOWED["billing_cycle"])),
            "industry": draw(st.sampled_from(ALLOWED["industry"])),
            "country": draw(st.sampled_from(ALLOWED["country"])),
            "acquisition_channel": draw(
                st.sampled_from(ALLOWED["acquisition_channel"])
            ),
            "discount_pct": draw(st.sampled_from([0.0, 0.1, 0.25, 1.0])),
        }
    )
    return _Account(account_id, signup, plan, seats)


def _close(draw: st.DrawFn, ticket: dict[str, Any], closed_at: pd.Timestamp) -> None:
    ticket["closed_at"] = closed_at
    score = draw(st.none() | st.integers(1, 5))
    ticket["satisfaction"] = None if score is None else float(score)


def _events(
    draw: st.DrawFn,
    account: _Account,
    span: tuple[int, int],
    hot: Sequence[int],
    ids: _Ids,
    rows: Rows,
    timed: bool,
) -> None:
    lo, hi = span
    moments = sorted(
        day_start(draw(days(lo, hi, hot)))
        + pd.Timedelta(seconds=draw(_TIME_OF_DAY) if timed else 0)
        for _ in range(draw(st.integers(0, 4)))
    )
    for moment in moments:
        if account.cancelled:
            kind = REACTIVATION
        else:
            kind = draw(st.sampled_from(_ACTIVE_EVENTS))
        if kind == CANCELLATION:
            terms = {
                "plan": account.plan,
                "seats": account.seats,
                "mrr": 0.0,
                "churn_type": draw(st.sampled_from(ALLOWED["churn_type"])),
                "reason": draw(st.sampled_from(ALLOWED["churn_reason"])),
            }
        else:
            account.plan = draw(st.sampled_from(ALLOWED["plan"]))
            account.seats = draw(st.integers(1, 50))
            terms = {
                "plan": account.plan,
                "seats": account.seats,
                "mrr": float(draw(st.integers(0, 5_000))),
                "churn_type": None,
                "reason": None,
            }
        if kind in LIFECYCLE_EVENTS:
            account.cancelled = not account.cancelled
        rows["subscription_events"].append(
            {
                "event_id": ids.next("E"),
                "account_id": account.account_id,
                "event_date": moment,
                "event_type": kind,
                **terms,
            }
        )


def _activity(
    draw: st.DrawFn,
    account: _Account,
    span: tuple[int, int],
    hot: Sequence[int],
    ids: _Ids,
    rows: Rows,
    *,
    timed: bool,
    final: bool,
) -> None:
    """Records of every dated table for ``account`` on days ``span`` (inclusive).

    In a past (``final=False``) a ticket is either closed before the span's end
    or left pending for a future to close; in a future it closes any time later
    or never.
    """
    lo, hi = span
    if lo > hi:
        return
    _events(draw, account, span, hot, ids, rows, timed)
    usage_lo = max(lo, USAGE_START_DAY)
    if usage_lo <= hi:
        for usage_day in draw(
            st.lists(days(usage_lo, hi, hot), max_size=4, unique=True)
        ):
            counts = {c: draw(st.integers(0, 5)) for c in USAGE_COLUMNS}
            rows["usage"].append(
                {
                    "account_id": account.account_id,
                    "usage_date": day_start(usage_day),
                    **counts,
                }
            )
    span_end = day_start(hi + 1)
    for _ in range(draw(st.integers(0, 3))):
        opened = day_start(draw(days(lo, hi, hot))) + pd.Timedelta(
            seconds=draw(_TIME_OF_DAY)
        )
        ticket = {
            "ticket_id": ids.next("T"),
            "account_id": account.account_id,
            "opened_at": opened,
            "closed_at": pd.NaT,
            "priority": draw(st.sampled_from(ALLOWED["priority"])),
            "satisfaction": None,
        }
        # Seconds left before the span ends (a past must not close later).
        room = int((span_end - opened).total_seconds()) - 1
        limit = _MAX_TICKET_SECONDS if final else min(room, _MAX_TICKET_SECONDS)
        if limit >= 1 and draw(st.booleans()):
            seconds = draw(
                st.one_of(st.sampled_from([1, limit]), st.integers(1, limit))
            )
            _close(draw, ticket, opened + pd.Timedelta(seconds=seconds))
        if final or pd.notna(ticket["closed_at"]):
            rows["tickets"].append(ticket)
        else:
            account.pending.append(ticket)
    for _ in range(draw(st.integers(0, 3))):
        rows["invoices"].append(
            {
                "invoice_id": ids.next("I"),
                "account_id": account.account_id,
                "invoice_date": day_start(draw(days(lo, hi, hot))),
                "amount": float(draw(st.integers(0, 500))),
                "status": draw(st.sampled_from(ALLOWED["invoice_status"])),
                "attempts": draw(st.integers(1, 4)),
            }
        )
    for _ in range(draw(st.integers(0, 3))):
        rows["nps_responses"].append(
            {
                "response_id": ids.next("N"),
                "account_id": account.account_id,
                "response_date": day_start(draw(days(lo, hi, hot))),
                "score": draw(st.integers(0, 10)),
            }
        )


def _future(
    draw: st.DrawFn,
    past: Rows,
    accounts: Sequence[_Account],
    cut: int,
    hot: Sequence[int],
    *,
    timed: bool,
) -> World:
    rows = {name: list(table) for name, table in past.items()}
    ids = _Ids("f")
    cut_end = day_start(cut + 1)
    for original in accounts:
        account = copy.deepcopy(original)
        for pending in account.pending:
            ticket = dict(pending)
            # Closed at some moment after the as-of day, or still open.
            if draw(st.booleans()):
                seconds = draw(st.integers(0, _MAX_TICKET_SECONDS))
                _close(draw, ticket, cut_end + pd.Timedelta(seconds=seconds))
            rows["tickets"].append(ticket)
        _activity(
            draw, account, (cut + 1, LAST_DAY), hot, ids, rows, timed=timed, final=True
        )
    for j in range(draw(st.integers(0, 2))):
        signup = draw(days(cut + 1, LAST_DAY, hot))
        account = _signup(draw, f"Z{j}", signup, rows)
        _activity(
            draw, account, (signup, LAST_DAY), hot, ids, rows, timed=timed, final=True
        )
    return frames(rows)


@st.composite
def split_worlds(
    draw: st.DrawFn, cut: int, hot: Sequence[int] = (), n_futures: int = 2
) -> list[World]:
    """``n_futures`` complete worlds that agree on everything known at ``cut``.

    Args:
        draw: Hypothesis' draw function.
        cut: The as-of day (``0 <= cut < LAST_DAY``).
        hot: Days to draw often (window and horizon edges).
        n_futures: How many futures to draw for the one past.

    Returns:
        One dict of six frames per future.
    """
    timed = draw(st.booleans())
    past: Rows = {name: [] for name in COLUMNS}
    ids = _Ids("p")
    accounts = []
    for i in range(draw(st.integers(1, 4))):
        signup = draw(days(0, cut, hot))
        account = _signup(draw, f"A{i}", signup, past)
        _activity(
            draw, account, (signup, cut), hot, ids, past, timed=timed, final=False
        )
        accounts.append(account)
    return [
        _future(draw, past, accounts, cut, hot, timed=timed) for _ in range(n_futures)
    ]


@st.composite
def worlds(draw: st.DrawFn, hot: Sequence[int] = ()) -> World:
    """One complete world (drawn as a past and a future around a random day)."""
    cut = draw(days(0, LAST_DAY - 1, hot))
    return draw(split_worlds(cut, hot, n_futures=1))[0]
