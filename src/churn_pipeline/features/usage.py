"""Usage level, trend, breadth, per-seat intensity, recency and onboarding.

Besides the registry's usage features, every configured usage column outside
the contract's (``churn_pipeline.features.specs.configured``) gets its own
windowed sums, trend, recency and per-seat ratio, in the same pass.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd
from ibis.expr.types import NumericValue, Table, Value

from churn_pipeline.features.pit import (
    KEYS,
    days_between,
    known_at,
    known_maxima,
    pick,
    sorted_dates,
)
from churn_pipeline.features.specs import (
    KEY_FEATURES,
    USAGE_WINDOWS,
    configured_usage_columns,
    configured_usage_specs,
)
from churn_pipeline.features.usage_segments import ONE_DAY, segments

ONBOARDING_DAYS = (30, 90)


def _trend(last: NumericValue, previous: NumericValue) -> NumericValue:
    """(last + 1) / (previous + 1) - 1: defined when the previous window is empty."""
    return (last + 1.0) / (previous + 1.0) - 1.0


def _window_totals(
    per_segment: Table,
    lanes: Table,
    key_columns: Sequence[str],
    per_feature: Sequence[str],
    configured: Sequence[str],
) -> Table:
    """Per spine row, the usage sums of each window from the per-segment sums.

    A usage column's per-segment sum is ``_n_<column>``; the configured
    columns' totals are ``_w_<column>_<days>d`` and ``_w_<column>_prev_30d``
    (underscored: no usage column's name can clash with them).
    """
    paired = per_segment.join(lanes, "segment")

    def total(column: str, flag: str) -> NumericValue:
        return ibis.ifelse(paired[flag], paired[column], 0.0).sum()

    metrics = {
        **{f"logins_{d}d": total("logins", f"in_{d}d") for d in USAGE_WINDOWS},
        "logins_prev_30d": total("logins", "in_prev_30d"),
        "active_days_30d": total("days", "in_30d"),
        "active_days_90d": total("days", "in_90d"),
        "users_30d": total("active_users", "in_30d"),
        **{
            f"key_feature_uses_{d}d": total("key_uses", f"in_{d}d")
            for d in USAGE_WINDOWS
        },
        "key_prev_30d": total("key_uses", "in_prev_30d"),
        **{
            f"{c}_{d}d": total(f"_n_{c}", f"in_{d}d")
            for c in per_feature
            for d in USAGE_WINDOWS
        },
        **{f"_used_{c}_30d": total(f"_n_{c}", "in_30d") for c in key_columns},
        **{
            f"_w_{c}_{window}": total(f"_n_{c}", f"in_{window}")
            for c in configured
            for window in (*(f"{d}d" for d in USAGE_WINDOWS), "prev_30d")
        },
    }
    return paired.group_by(KEYS).aggregate(**metrics)


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
    dates = sorted_dates(dates)
    per_feature = [f"uses_{f}" for f in KEY_FEATURES if f"uses_{f}" in has]
    configured_usage_specs(usage.columns)  # refuses clashing names up front
    configured = configured_usage_columns(usage.columns)
    counted = (*key_columns, *per_feature, *configured)
    calendar, lanes = segments(dates, history_start)
    per_segment = _per_segment(usage, dates, calendar, key_columns, counted)
    # 2. Add the segments up per as-of date and window (segments never straddle
    # a window edge, so each lies wholly inside or outside every window).
    counts = _window_totals(per_segment, lanes, key_columns, per_feature, configured)
    # 3. Per account, from the same segments: the last active day known at
    # each date (a segment is known whole or not at all), the last day each
    # configured column was positive, and first uses.
    per_account = per_segment.group_by("account_id").aggregate(
        **known_maxima(per_segment.last_day, per_segment.last_day, dates, "_last_"),
        **{
            name: value
            for c in configured
            for name, value in known_maxima(
                per_segment[f"_last_{c}"],
                per_segment[f"_last_{c}"],
                dates,
                f"_last_{c}_",
            ).items()
        },
        **{f"_first_{c}": per_segment[f"_first_{c}"].min() for c in key_columns},
    )
    joined = _per_spine_row(spine, counts, per_account, account_features, accounts)
    joined = joined.mutate(
        last_active_date=pick(joined, [f"_last_{k}" for k in range(len(dates))], dates),
        **{
            f"_last_{c}": pick(
                joined, [f"_last_{c}_{k}" for k in range(len(dates))], dates
            )
            for c in configured
        },
    )
    seen_from = _seen_from(joined, history_start)
    return joined.select(
        "account_id",
        "as_of_date",
        **_login_features(joined, has),
        **_activity_features(joined, has, seen_from),
        **_key_feature_features(joined, key_columns, per_feature),
        **_onboarding(joined, key_columns),
        **_configured_features(joined, configured, seen_from),
    )


def _per_segment(
    usage: Table,
    dates: Sequence[pd.Timestamp],
    calendar: Table,
    key_columns: Sequence[str],
    counted: Sequence[str],
) -> Table:
    """1. One pass over the usage rows known at the last as-of date.

    Per account and segment (segments run between window edges; -1 holds the
    days before every window): the sums (``_n_<column>`` for each counted
    usage column), the last active day, the last day each configured column
    was positive and the first use of each key feature. Counts a usage export
    lacks are zero here; the features needing them come out null.
    """
    has = set(usage.columns)
    zero = ibis.literal(0)
    key_uses = sum((usage[c] for c in key_columns), start=zero)
    logins = usage["logins"] if "logins" in has else zero
    users = usage["active_users"] if "active_users" in has else zero
    counted = sorted(set(counted))
    configured = configured_usage_columns(usage.columns)
    known = usage.filter(usage.usage_date < ibis.literal(dates[-1] + ONE_DAY))
    days = known.select(
        "account_id",
        "usage_date",
        day=known.usage_date.date(),
        logins=logins,
        active_users=users,
        key_uses=key_uses,
        **{f"_n_{c}": known[c] for c in counted},
    ).join(calendar, "day")

    def first_or_last_positive(column: str, which: str) -> Value:
        when = ibis.ifelse(days[f"_n_{column}"] > 0, days.usage_date, None)
        return getattr(when, which)()

    sums = ["logins", "active_users", "key_uses", *(f"_n_{c}" for c in counted)]
    # Float sums (exact for counts below 2**53): DuckDB sums integers as
    # 128-bit integers, several times slower to add up again in step 2.
    return days.group_by(["account_id", "segment"]).aggregate(
        days=days.count().cast("float64"),
        last_day=days.usage_date.max(),
        **{c: days[c].cast("float64").sum() for c in sums},
        **{f"_first_{c}": first_or_last_positive(c, "min") for c in key_columns},
        **{f"_last_{c}": first_or_last_positive(c, "max") for c in configured},
    )


def _per_spine_row(
    spine: Table,
    counts: Table,
    per_account: Table,
    account_features: Table,
    accounts: Table,
) -> Table:
    """The window totals, seats, signup date and per-account facts per spine row."""
    return (
        spine.select(*KEYS)
        .left_join(counts, KEYS)
        .left_join(account_features.select(*KEYS, "seats"), KEYS)
        .left_join(accounts.select("account_id", "signup_date"), "account_id")
        .left_join(per_account, "account_id")
        .select(
            *KEYS,
            *counts.columns[2:],
            "seats",
            "signup_date",
            *per_account.columns[1:],
        )
    )


def _count(t: Table, name: str) -> NumericValue:
    """A summed count as a float, zero where the account had no usage rows."""
    return t[name].fill_null(0).cast("float64")


def _unless_missing(has: set[str], column: str, value: NumericValue) -> NumericValue:
    """``value``, or null when the usage export lacks ``column``."""
    return value if column in has else ibis.null("float64")


def _login_features(t: Table, has: set[str]) -> dict[str, NumericValue]:
    """Logins per window, their 30-day trend and per seat."""
    return {
        **{
            f"logins_{d}d": _unless_missing(has, "logins", _count(t, f"logins_{d}d"))
            for d in USAGE_WINDOWS
        },
        "logins_trend_30d": _unless_missing(
            has,
            "logins",
            _trend(_count(t, "logins_30d"), _count(t, "logins_prev_30d")),
        ),
        "logins_per_seat_30d": _unless_missing(
            has, "logins", _count(t, "logins_30d") / t.seats
        ),
    }


def _seen_from(t: Table, history_start: pd.Timestamp | None) -> Value:
    """Where recency counts from without activity: signup or history start.

    Whichever is later: an account's days before the usage history are unknown.
    """
    signup = t.signup_date
    if history_start is None:
        return signup
    return ibis.greatest(signup, ibis.literal(history_start))


def _activity_features(
    t: Table, has: set[str], seen_from: Value
) -> dict[str, NumericValue]:
    """Active days, active users per seat, and days since the last active day.

    Without any activity, recency counts from ``seen_from`` (:func:`_seen_from`).
    """
    active_days_30 = _count(t, "active_days_30d")
    users_per_seat = ibis.ifelse(
        active_days_30 > 0, _count(t, "users_30d") / active_days_30 / t.seats, 0.0
    )
    return {
        "active_days_30d": active_days_30,
        "active_days_90d": _count(t, "active_days_90d"),
        "active_users_per_seat_30d": _unless_missing(
            has, "active_users", users_per_seat
        ),
        "days_since_last_login": days_between(
            t.as_of_date, t.last_active_date.fill_null(seen_from)
        ).cast("float64"),
    }


def _key_feature_features(
    t: Table, key_columns: Sequence[str], per_feature: Sequence[str]
) -> dict[str, NumericValue]:
    """Key-feature uses per window, their trend and breadth, and each feature's."""
    return {
        **{
            f"key_feature_uses_{d}d": _count(t, f"key_feature_uses_{d}d")
            for d in USAGE_WINDOWS
        },
        "key_feature_trend_30d": _trend(
            _count(t, "key_feature_uses_30d"), _count(t, "key_prev_30d")
        ),
        "distinct_key_features_30d": sum(
            (
                ibis.ifelse(_count(t, f"_used_{c}_30d") > 0, 1.0, 0.0)
                for c in key_columns
            ),
            start=ibis.literal(0.0),
        ),
        **{
            f"uses_{f}_{d}d": _count(t, f"uses_{f}_{d}d")
            if f"uses_{f}" in per_feature
            else ibis.null("float64")
            for f in KEY_FEATURES
            for d in USAGE_WINDOWS
        },
    }


def _onboarding(t: Table, key_columns: Sequence[str]) -> dict[str, NumericValue]:
    """How many key features each account had used within N days of signup."""
    signup = t.signup_date
    return {
        f"onboarding_features_{days}d": sum(
            (
                ibis.ifelse(
                    known_at(t[f"_first_{c}"], t.as_of_date)
                    & (t[f"_first_{c}"] < signup + ibis.interval(days=days)),
                    1.0,
                    0.0,
                )
                for c in key_columns
            ),
            start=ibis.literal(0.0),
        )
        for days in ONBOARDING_DAYS
    }


def _configured_features(
    t: Table, configured: Sequence[str], seen_from: Value
) -> dict[str, NumericValue]:
    """Each configured usage column's sums, trend, recency and per-seat ratio.

    Recency counts like ``days_since_last_login``: from the last day the column
    was positive, else from ``seen_from``.
    """
    features: dict[str, NumericValue] = {}
    for c in configured:
        features |= {f"{c}_{d}d": _count(t, f"_w_{c}_{d}d") for d in USAGE_WINDOWS}
        last_30d = _count(t, f"_w_{c}_30d")
        features[f"{c}_trend_30d"] = _trend(last_30d, _count(t, f"_w_{c}_prev_30d"))
        features[f"days_since_{c}"] = days_between(
            t.as_of_date, t[f"_last_{c}"].fill_null(seen_from)
        ).cast("float64")
        features[f"{c}_per_seat_30d"] = last_30d / t.seats
    return features
