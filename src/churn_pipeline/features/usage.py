"""Usage level, trend, breadth, per-seat intensity, recency and onboarding."""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd
from ibis.expr.types import NumericValue, Table

from churn_pipeline.features.pit import (
    KEYS,
    days_between,
    in_window,
    known_at,
    latest_value,
    windowed,
)
from churn_pipeline.features.registry import KEY_FEATURES, USAGE_WINDOWS

ONBOARDING_DAYS = (30, 90)
_LONGEST = max(USAGE_WINDOWS)


def _trend(last: NumericValue, previous: NumericValue) -> NumericValue:
    """(last + 1) / (previous + 1) - 1: defined when the previous window is empty."""
    return (last + 1.0) / (previous + 1.0) - 1.0


def usage_features(
    spine: Table,
    usage: Table,
    accounts: Table,
    account_features: Table,
    dates: Sequence[pd.Timestamp],
    *,
    key_columns: Sequence[str],
    history_start: pd.Timestamp | None,
) -> Table:
    """Usage features per spine row (see the registry for each definition).

    Args:
        spine: ``account_id``, ``as_of_date``.
        usage: Validated daily usage; count columns beyond the key columns are
            optional (``logins``, ``active_users``, ``uses_<feature>``), and a
            feature needing a missing one comes out null.
        accounts: ``account_id``, ``signup_date``.
        account_features: ``seats`` per spine row.
        dates: The as-of dates.
        key_columns: Usage columns that count as key-feature uses.
        history_start: First day of usage history (``None``: no usage at all);
            recency without any activity counts from it or from signup.

    Returns:
        Keys plus the usage features of the registry.
    """
    has = set(usage.columns)
    zero = ibis.literal(0)
    key_uses = sum((usage[c] for c in key_columns), start=zero)
    logins = usage["logins"] if "logins" in has else zero
    users = usage["active_users"] if "active_users" in has else zero
    per_feature = [f"uses_{f}" for f in KEY_FEATURES if f"uses_{f}" in has]
    rows = usage.select(
        "account_id",
        "usage_date",
        logins=logins,
        active_users=users,
        key_uses=key_uses,
        **{c: usage[c] for c in sorted({*key_columns, *per_feature})},
    )
    paired = windowed(rows, "usage_date", dates, _LONGEST)

    def within(days: int) -> ibis.expr.types.BooleanValue:
        return in_window(paired.usage_date, paired.as_of_date, days)

    def total(value: NumericValue, days: int) -> NumericValue:
        return ibis.ifelse(within(days), value, 0).sum()

    previous_30d = ~within(30) & within(60)
    metrics = {
        **{f"logins_{d}d": total(paired.logins, d) for d in USAGE_WINDOWS},
        "logins_prev_30d": ibis.ifelse(previous_30d, paired.logins, 0).sum(),
        "active_days_30d": total(1, 30),
        "active_days_90d": total(1, 90),
        "users_30d": total(paired.active_users, 30),
        **{f"key_feature_uses_{d}d": total(paired.key_uses, d) for d in USAGE_WINDOWS},
        "key_prev_30d": ibis.ifelse(previous_30d, paired.key_uses, 0).sum(),
        **{
            f"{c}_{d}d": total(paired[c], d) for c in per_feature for d in USAGE_WINDOWS
        },
        **{f"used_{c}_30d": total(paired[c], 30) for c in key_columns},
    }
    counts = paired.group_by(KEYS).aggregate(**metrics)
    last_active = latest_value(spine, rows, "usage_date", "usage_date", dates)
    first_use = rows.group_by("account_id").aggregate(
        **{
            f"first_{c}": ibis.ifelse(rows[c] > 0, rows.usage_date, None).min()
            for c in key_columns
        }
    )
    joined = (
        spine.select(*KEYS)
        .left_join(counts, KEYS)
        .left_join(account_features.select(*KEYS, "seats"), KEYS)
        .left_join(accounts.select("account_id", "signup_date"), "account_id")
        .left_join(last_active.rename(last_active_date="value"), KEYS)
        .left_join(first_use, "account_id")
    )
    return _finish(joined, key_columns, per_feature, has, history_start)


def _finish(
    t: Table,
    key_columns: Sequence[str],
    per_feature: Sequence[str],
    has: set[str],
    history_start: pd.Timestamp | None,
) -> Table:
    def count(name: str) -> NumericValue:
        return t[name].fill_null(0).cast("float64")

    def unless_missing(column: str, value: NumericValue) -> NumericValue:
        return value if column in has else ibis.null("float64")

    signup = t.signup_date
    seen_from = (
        ibis.greatest(signup, ibis.literal(history_start))
        if history_start is not None
        else signup
    )
    active_days_30 = count("active_days_30d")
    onboarding = {
        f"onboarding_features_{days}d": sum(
            (
                ibis.ifelse(
                    known_at(t[f"first_{c}"], t.as_of_date)
                    & (t[f"first_{c}"] < signup + ibis.interval(days=days)),
                    1.0,
                    0.0,
                )
                for c in key_columns
            ),
            start=ibis.literal(0.0),
        )
        for days in ONBOARDING_DAYS
    }
    return t.select(
        "account_id",
        "as_of_date",
        **{
            f"logins_{d}d": unless_missing("logins", count(f"logins_{d}d"))
            for d in USAGE_WINDOWS
        },
        logins_trend_30d=unless_missing(
            "logins", _trend(count("logins_30d"), count("logins_prev_30d"))
        ),
        logins_per_seat_30d=unless_missing("logins", count("logins_30d") / t.seats),
        active_days_30d=active_days_30,
        active_days_90d=count("active_days_90d"),
        active_users_per_seat_30d=unless_missing(
            "active_users",
            ibis.ifelse(
                active_days_30 > 0, count("users_30d") / active_days_30 / t.seats, 0.0
            ),
        ),
        days_since_last_login=days_between(
            t.as_of_date, t.last_active_date.fill_null(seen_from)
        ).cast("float64"),
        **{
            f"key_feature_uses_{d}d": count(f"key_feature_uses_{d}d")
            for d in USAGE_WINDOWS
        },
        key_feature_trend_30d=_trend(
            count("key_feature_uses_30d"), count("key_prev_30d")
        ),
        distinct_key_features_30d=sum(
            (ibis.ifelse(count(f"used_{c}_30d") > 0, 1.0, 0.0) for c in key_columns),
            start=ibis.literal(0.0),
        ),
        **{
            f"uses_{f}_{d}d": count(f"uses_{f}_{d}d")
            if f"uses_{f}" in per_feature
            else ibis.null("float64")
            for f in KEY_FEATURES
            for d in USAGE_WINDOWS
        },
        **onboarding,
    )
