"""Consistent "more use" and "more trouble" changes of real feature vectors.

Shared by the direction tests of the fitted model (tests/models/test_behaviour.py)
and of the served champion (tests/e2e/test_directions.py). Each change is one
thing that could happen to an account today, applied to every feature it
touches, so the changed vector is one the data could hold: a 7-day count never
exceeds its 30-day count, an overdue ticket is also an open ticket, a failed
payment today counts in both windows and is 0 days old. Every feature a change
touches is constrained in ``conf/base/parameters_model_training.yml`` (in the
direction the change moves it), so the model's guarantee covers the whole move.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pandas as pd

USAGE_WINDOWS = (7, 14, 30, 90)
TICKET_WINDOWS = (7, 10, 30, 90)
KEY_FEATURES = ("reports", "dashboards", "integrations", "automations")
# Extra logins or key-feature uses added by a "more use" change.
EXTRA_USES = 5
# A ticket opened this many days before the as-of day counts as open over 5 days.
OVERDUE_DAYS = 5

Change = Callable[[pd.DataFrame], pd.DataFrame]


def _trend_with(trend: pd.Series, last: pd.Series, extra: float) -> pd.Series:
    """``(last + 1) / (previous + 1) - 1`` after ``extra`` more in the last 30 days."""
    return (trend + 1.0) * (last + extra + 1.0) / (last + 1.0) - 1.0


def _active_today(rows: pd.DataFrame) -> dict[str, pd.Series]:
    """The account was active today: one more active day unless it already was."""
    # Not active today yet: a last login before today, or none on record (an
    # account that signed up today has 0 days since and no active day).
    new_day = (
        (rows["days_since_last_login"] > 0) | (rows["active_days_30d"] == 0)
    ).astype(float)
    seats = rows["seats"].where(rows["seats"] > 0)
    # With no active day before, today's one active user sets the ratio.
    users = rows["active_users_per_seat_30d"].where(
        rows["active_days_30d"] > 0, (1.0 / seats).fillna(0.0)
    )
    return {
        "active_days_30d": (rows["active_days_30d"] + new_day).clip(upper=30),
        "active_days_90d": (rows["active_days_90d"] + new_day).clip(upper=90),
        "active_users_per_seat_30d": users,
        "days_since_last_login": rows["days_since_last_login"] * 0.0,
    }


def more_logins(rows: pd.DataFrame, extra: int = EXTRA_USES) -> pd.DataFrame:
    """``extra`` more logins today: every window, the trend and per seat rise."""
    seats = rows["seats"].where(rows["seats"] > 0)
    return rows.assign(
        **{f"logins_{d}d": rows[f"logins_{d}d"] + extra for d in USAGE_WINDOWS},
        logins_trend_30d=_trend_with(
            rows["logins_trend_30d"], rows["logins_30d"], extra
        ),
        logins_per_seat_30d=(rows["logins_per_seat_30d"] + extra / seats).fillna(
            rows["logins_per_seat_30d"]
        ),
        **_active_today(rows),
    )


def more_key_feature_use(feature: str, extra: int = EXTRA_USES) -> Change:
    """A change: ``extra`` more uses of one key feature today, in a login session."""

    def change(rows: pd.DataFrame) -> pd.DataFrame:
        changed = more_logins(rows, 1)
        first_use = rows[f"uses_{feature}_30d"] == 0
        return changed.assign(
            **{
                f"{stem}_{d}d": rows[f"{stem}_{d}d"] + extra
                for stem in (f"uses_{feature}", "key_feature_uses")
                for d in USAGE_WINDOWS
            },
            key_feature_trend_30d=_trend_with(
                rows["key_feature_trend_30d"], rows["key_feature_uses_30d"], extra
            ),
            distinct_key_features_30d=rows["distinct_key_features_30d"]
            + first_use.astype(float),
        )

    return change


def more_active_users(rows: pd.DataFrame) -> pd.DataFrame:
    """One more user active on every active day (accounts with activity only)."""
    seats = rows["seats"].where(rows["seats"] > 0)
    step = (1.0 / seats).where(rows["active_days_30d"] > 0).fillna(0.0)
    return rows.assign(
        active_users_per_seat_30d=rows["active_users_per_seat_30d"] + step
    )


def more_of_everything(rows: pd.DataFrame) -> pd.DataFrame:
    """More logins and more uses of every key feature, today."""
    for feature in KEY_FEATURES:
        rows = more_key_feature_use(feature)(rows)
    return more_active_users(rows)


def failed_payment_today(retries: int = 0) -> Change:
    """A change: one more invoice failed today, then retried ``retries`` times."""

    def change(rows: pd.DataFrame) -> pd.DataFrame:
        return rows.assign(
            failed_payments_30d=rows["failed_payments_30d"] + 1,
            failed_payments_90d=rows["failed_payments_90d"] + 1,
            payment_retries_90d=rows["payment_retries_90d"] + retries,
            days_since_failed_payment=rows["days_since_failed_payment"] * 0.0,
        ).fillna({"days_since_failed_payment": 0.0})

    return change


def overdue_urgent_ticket(rows: pd.DataFrame) -> pd.DataFrame:
    """An urgent ticket opened 5 days ago is still open (overdue from 5 days).

    Accounts younger than 5 days cannot have one and stay as they are.
    """
    can = rows["tenure_days"] >= OVERDUE_DAYS
    added = can.astype(float)
    tickets_90d = rows["tickets_90d"]
    urgent = rows["high_priority_share_90d"] * tickets_90d
    tickets_7d = rows["tickets_7d"] + added
    return rows.assign(
        **{f"tickets_{d}d": rows[f"tickets_{d}d"] + added for d in TICKET_WINDOWS},
        ticket_burst_7d=np.maximum(rows["ticket_burst_7d"], tickets_7d >= 3).astype(
            float
        ),
        tickets_open=rows["tickets_open"] + added,
        tickets_open_over_5d=rows["tickets_open_over_5d"] + added,
        oldest_open_ticket_days=rows["oldest_open_ticket_days"].where(
            ~can, rows["oldest_open_ticket_days"].clip(lower=OVERDUE_DAYS)
        ),
        high_priority_share_90d=((urgent + 1) / (tickets_90d + 1)).where(
            can, rows["high_priority_share_90d"]
        ),
    )


# Name -> change; "more use" must never raise the probability.
MORE_USE: dict[str, Change] = {
    "more logins": more_logins,
    **{f"more {f} use": more_key_feature_use(f) for f in KEY_FEATURES},
    "more active users": more_active_users,
    "more of everything": more_of_everything,
}
# Name -> change; "more trouble" must never lower the probability.
MORE_TROUBLE: dict[str, Change] = {
    "a failed payment today": failed_payment_today(),
    "a failed payment today, retried twice": failed_payment_today(retries=2),
    "an overdue urgent ticket": overdue_urgent_ticket,
}


def consistency_problems(rows: pd.DataFrame) -> list[str]:
    """Rules a feature vector from the data always keeps, broken by some row.

    The tests check their changed vectors with it, so a change cannot pass by
    scoring an account no data would produce.
    """
    problems = []

    def check(rule: str, holds: pd.Series) -> None:
        if not holds.all():
            problems.append(f"{rule}: {int((~holds).sum())} rows")

    for stem in ("logins", "key_feature_uses", *(f"uses_{f}" for f in KEY_FEATURES)):
        for short, long in itertools.pairwise(USAGE_WINDOWS):
            check(
                f"{stem}_{short}d <= {stem}_{long}d",
                rows[f"{stem}_{short}d"] <= rows[f"{stem}_{long}d"],
            )
    for short, long in itertools.pairwise(TICKET_WINDOWS):
        check(
            f"tickets_{short}d <= tickets_{long}d",
            rows[f"tickets_{short}d"] <= rows[f"tickets_{long}d"],
        )
    for d in USAGE_WINDOWS:
        total = sum(rows[f"uses_{f}_{d}d"] for f in KEY_FEATURES)
        check(
            f"key_feature_uses_{d}d is the sum of uses",
            rows[f"key_feature_uses_{d}d"] == total,
        )
    used = sum((rows[f"uses_{f}_30d"] > 0).astype(float) for f in KEY_FEATURES)
    check(
        "distinct_key_features_30d counts the used",
        rows["distinct_key_features_30d"] == used,
    )
    active = rows["active_days_30d"] > 0
    check("active days iff logins", active == (rows["logins_30d"] > 0))
    check(
        "active users iff active days",
        active == (rows["active_users_per_seat_30d"] > 0),
    )
    check(
        "a login in 7 days is under 7 days ago",
        (rows["logins_7d"] == 0) | (rows["days_since_last_login"] < 7),
    )
    check("active_days_30d <= 30", rows["active_days_30d"] <= 30)
    check(
        "active_days_30d <= active_days_90d",
        rows["active_days_30d"] <= rows["active_days_90d"],
    )
    check(
        "tickets_open_over_5d <= tickets_open",
        rows["tickets_open_over_5d"] <= rows["tickets_open"],
    )
    check(
        # Ages are whole days: a ticket open 5.5 days is 5 days old.
        "an overdue ticket is at least 5 days old",
        (rows["tickets_open_over_5d"] == 0)
        | (rows["oldest_open_ticket_days"] >= OVERDUE_DAYS),
    )
    check(
        "ticket_burst_7d == (tickets_7d >= 3)",
        rows["ticket_burst_7d"] == (rows["tickets_7d"] >= 3).astype(float),
    )
    check(
        "failed_payments_30d <= failed_payments_90d",
        rows["failed_payments_30d"] <= rows["failed_payments_90d"],
    )
    check(
        "a failed payment in 30 days is at most 30 days old",
        (rows["failed_payments_30d"] == 0) | (rows["days_since_failed_payment"] <= 30),
    )
    check("high_priority_share_90d <= 1", rows["high_priority_share_90d"] <= 1)
    return problems
