"""The pandas reference's activity groups: usage, tickets, billing and NPS.

Shared with :mod:`tests.features.pandas_reference` (which composes the model
input): the point-in-time helpers and the constants of the feature rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from churn_pipeline.features.specs import (
    KEY_FEATURES,
    TICKET_WINDOWS,
    USAGE_WINDOWS,
)

KEYS = ["account_id", "as_of_date"]
DAY = pd.Timedelta(days=1)
MRR_LOOKBACK_DAYS = 90
ONBOARDING_DAYS = (30, 90)
HIGH_PRIORITIES = ("high", "urgent")
BURST_TICKETS = 3
OPEN_TOO_LONG_DAYS = 5
BILLING_WINDOWS = (30, 90)
DETRACTOR_BELOW = 7
FAILED = "failed"


def whole_days(later: pd.Series | pd.Timestamp, earlier: pd.Series) -> pd.Series:
    """Whole calendar days from ``earlier`` to ``later`` (NaN where unknown)."""
    if isinstance(later, pd.Timestamp):
        later = later.normalize()
    else:
        later = later.dt.normalize()
    return (later - earlier.dt.normalize()).dt.days.astype("float64")


def per_date(
    spine: pd.DataFrame, compute: Callable[[pd.Timestamp], pd.DataFrame]
) -> pd.DataFrame:
    """``compute(t)`` (indexed by account) for each as-of date, on the spine rows."""
    frames = []
    for as_of, rows in spine.groupby("as_of_date", sort=True):
        values = compute(pd.Timestamp(as_of))
        frames.append(rows[KEYS].join(values, on="account_id"))
    return pd.concat(frames, ignore_index=True)


def latest_records(records: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Each account's last record in ``order``, indexed by account."""
    ordered = records.sort_values(order, kind="stable")
    return ordered.groupby("account_id").tail(1).set_index("account_id")


def trend(last: pd.Series, previous: pd.Series) -> pd.Series:
    return (last + 1.0) / (previous + 1.0) - 1.0


def usage_features(
    spine: pd.DataFrame,
    usage: pd.DataFrame,
    accounts: pd.DataFrame,
    account: pd.DataFrame,
    *,
    key_columns: Sequence[str],
    history_start: pd.Timestamp | None,
) -> pd.DataFrame:
    """Usage counts, trends, per-seat intensity, recency and onboarding."""
    has = set(usage.columns)
    key_columns = list(key_columns)
    per_feature = [f"uses_{f}" for f in KEY_FEATURES if f"uses_{f}" in has]
    zero = pd.Series(0, index=usage.index)
    rows = pd.DataFrame(
        {
            "account_id": usage["account_id"],
            "usage_date": usage["usage_date"],
            "logins": usage["logins"] if "logins" in has else zero,
            "active_users": usage["active_users"] if "active_users" in has else zero,
            "key_uses": usage[key_columns].sum(axis=1) if key_columns else zero,
            **{c: usage[c] for c in sorted({*key_columns, *per_feature})},
        }
    )

    def counts(as_of: pd.Timestamp) -> pd.DataFrame:
        end = as_of + DAY
        window = rows[
            (rows["usage_date"] < end)
            & (rows["usage_date"] >= end - pd.Timedelta(days=max(USAGE_WINDOWS)))
        ]

        def within(days: int) -> pd.Series:
            return window["usage_date"] >= end - pd.Timedelta(days=days)

        previous_30d = ~within(30) & within(60)
        columns = {
            **{
                f"logins_{d}d": window["logins"].where(within(d), 0)
                for d in USAGE_WINDOWS
            },
            "logins_prev_30d": window["logins"].where(previous_30d, 0),
            "active_days_30d": within(30).astype("int64"),
            "active_days_90d": within(90).astype("int64"),
            "users_30d": window["active_users"].where(within(30), 0),
            **{
                f"key_feature_uses_{d}d": window["key_uses"].where(within(d), 0)
                for d in USAGE_WINDOWS
            },
            "key_prev_30d": window["key_uses"].where(previous_30d, 0),
            **{
                f"{c}_{d}d": window[c].where(within(d), 0)
                for c in per_feature
                for d in USAGE_WINDOWS
            },
            **{f"used_{c}_30d": window[c].where(within(30), 0) for c in key_columns},
        }
        sums = pd.DataFrame(columns).groupby(window["account_id"]).sum()
        known = rows[rows["usage_date"] < end]
        last = known.groupby("account_id")["usage_date"].max()
        return sums.join(last.rename("last_active_date"), how="outer")

    t = per_date(spine, counts)
    first_use = pd.DataFrame(
        {
            f"first_{c}": rows.loc[rows[c] > 0]
            .groupby("account_id")["usage_date"]
            .min()
            for c in key_columns
        }
    )
    t = t.join(first_use, on="account_id")
    t = t.merge(account[[*KEYS, "seats"]], on=KEYS, how="left")
    t = t.join(accounts.set_index("account_id")["signup_date"], on="account_id")

    def count(name: str) -> pd.Series:
        return t[name].fillna(0).astype("float64")

    def unless_missing(column: str, value: pd.Series) -> pd.Series:
        return value if column in has else pd.Series(np.nan, index=t.index)

    signup = t["signup_date"]
    seen_from = (
        signup.clip(lower=history_start) if history_start is not None else signup
    )
    active_days_30 = count("active_days_30d")
    out = {
        "account_id": t["account_id"],
        "as_of_date": t["as_of_date"],
        **{
            f"logins_{d}d": unless_missing("logins", count(f"logins_{d}d"))
            for d in USAGE_WINDOWS
        },
        "logins_trend_30d": unless_missing(
            "logins", trend(count("logins_30d"), count("logins_prev_30d"))
        ),
        "logins_per_seat_30d": unless_missing(
            "logins", count("logins_30d") / t["seats"]
        ),
        "active_days_30d": active_days_30,
        "active_days_90d": count("active_days_90d"),
        "active_users_per_seat_30d": unless_missing(
            "active_users",
            (count("users_30d") / active_days_30 / t["seats"]).where(
                active_days_30 > 0, 0.0
            ),
        ),
        "days_since_last_login": whole_days(
            t["as_of_date"], t["last_active_date"].fillna(seen_from)
        ),
        **{
            f"key_feature_uses_{d}d": count(f"key_feature_uses_{d}d")
            for d in USAGE_WINDOWS
        },
        "key_feature_trend_30d": trend(
            count("key_feature_uses_30d"), count("key_prev_30d")
        ),
        "distinct_key_features_30d": sum(
            ((count(f"used_{c}_30d") > 0).astype("float64") for c in key_columns),
            start=pd.Series(0.0, index=t.index),
        ),
        **{
            f"uses_{f}_{d}d": count(f"uses_{f}_{d}d")
            if f"uses_{f}" in per_feature
            else pd.Series(np.nan, index=t.index)
            for f in KEY_FEATURES
            for d in USAGE_WINDOWS
        },
    }
    for days in ONBOARDING_DAYS:
        adopted = pd.Series(0.0, index=t.index)
        for c in key_columns:
            first = t[f"first_{c}"]
            adopted += (
                (first < t["as_of_date"] + DAY)
                & (first < signup + pd.Timedelta(days=days))
            ).astype("float64")
        out[f"onboarding_features_{days}d"] = adopted
    return pd.DataFrame(out)


def ticket_features(spine: pd.DataFrame, tickets: pd.DataFrame) -> pd.DataFrame:
    """Support load, backlog, resolution speed, priority and satisfaction."""
    longest = pd.Timedelta(days=max(TICKET_WINDOWS))
    resolution = (tickets["closed_at"] - tickets["opened_at"]).dt.total_seconds()
    tickets = tickets.assign(
        is_high=tickets["priority"].isin(HIGH_PRIORITIES).astype("int64"),
        resolution_days=resolution / 86_400.0,
    )

    def compute(as_of: pd.Timestamp) -> pd.DataFrame:
        end = as_of + DAY
        opened_at = tickets["opened_at"]
        recent = tickets[(opened_at < end) & (opened_at >= end - longest)]
        by_recent = pd.DataFrame(
            {
                **{
                    f"tickets_{d}d": (
                        recent["opened_at"] >= end - pd.Timedelta(days=d)
                    ).astype("int64")
                    for d in TICKET_WINDOWS
                },
                "high_90d": recent["is_high"],
            }
        ).groupby(recent["account_id"])
        closed_at = tickets["closed_at"]
        still_open = tickets[
            (opened_at < end) & (closed_at.isna() | (closed_at >= end))
        ]
        too_long = end - pd.Timedelta(days=OPEN_TOO_LONG_DAYS)
        by_open = pd.DataFrame(
            {
                "tickets_open": 1,
                "tickets_open_over_5d": (still_open["opened_at"] < too_long).astype(
                    "int64"
                ),
                "oldest_open_ticket_days": whole_days(as_of, still_open["opened_at"]),
            },
            index=still_open.index,
        ).groupby(still_open["account_id"])
        closed = tickets[(closed_at < end) & (closed_at >= end - longest)]
        by_closed = closed.groupby("account_id")
        return pd.concat(
            [
                by_recent.sum(),
                by_open.agg(
                    {
                        "tickets_open": "sum",
                        "tickets_open_over_5d": "sum",
                        "oldest_open_ticket_days": "max",
                    }
                ),
                by_closed["resolution_days"].mean().rename("mean_resolution_days_90d"),
                by_closed["satisfaction"].mean().rename("mean_satisfaction_90d"),
            ],
            axis=1,
        )

    t = per_date(spine, compute)

    def count(name: str) -> pd.Series:
        return t[name].fillna(0).astype("float64")

    return pd.DataFrame(
        {
            "account_id": t["account_id"],
            "as_of_date": t["as_of_date"],
            **{f"tickets_{d}d": count(f"tickets_{d}d") for d in TICKET_WINDOWS},
            "ticket_burst_7d": (count("tickets_7d") >= BURST_TICKETS).astype("float64"),
            "tickets_open": count("tickets_open"),
            "tickets_open_over_5d": count("tickets_open_over_5d"),
            "oldest_open_ticket_days": count("oldest_open_ticket_days"),
            "high_priority_share_90d": (count("high_90d") / count("tickets_90d")).where(
                count("tickets_90d") > 0, 0.0
            ),
            "mean_resolution_days_90d": t["mean_resolution_days_90d"].astype("float64"),
            "mean_satisfaction_90d": t["mean_satisfaction_90d"].astype("float64"),
        }
    )


def billing_features(spine: pd.DataFrame, invoices: pd.DataFrame) -> pd.DataFrame:
    """Failed payments, retries and the days since the last failure."""
    invoices = invoices.assign(
        failed=(invoices["status"] == FAILED).astype("int64"),
        retries=invoices["attempts"] - 1,
    )
    failures = invoices[invoices["failed"] == 1]

    def compute(as_of: pd.Timestamp) -> pd.DataFrame:
        end = as_of + DAY
        dated = invoices["invoice_date"]
        window = invoices[
            (dated < end) & (dated >= end - pd.Timedelta(days=max(BILLING_WINDOWS)))
        ]
        sums = pd.DataFrame(
            {
                **{
                    f"failed_payments_{d}d": window["failed"].where(
                        window["invoice_date"] >= end - pd.Timedelta(days=d), 0
                    )
                    for d in BILLING_WINDOWS
                },
                "payment_retries_90d": window["retries"],
            }
        ).groupby(window["account_id"])
        last = (
            failures[failures["invoice_date"] < end]
            .groupby("account_id")["invoice_date"]
            .max()
        )
        return sums.sum().join(last.rename("last_failure"), how="outer")

    t = per_date(spine, compute)
    return pd.DataFrame(
        {
            "account_id": t["account_id"],
            "as_of_date": t["as_of_date"],
            **{
                name: t[name].fillna(0).astype("float64")
                for name in (
                    "failed_payments_30d",
                    "failed_payments_90d",
                    "payment_retries_90d",
                )
            },
            "days_since_failed_payment": whole_days(t["as_of_date"], t["last_failure"]),
        }
    )


def nps_features(spine: pd.DataFrame, nps_responses: pd.DataFrame) -> pd.DataFrame:
    """The latest NPS answer, its change, the detractor flag and its age."""
    order = ["account_id", "response_date", "response_id"]
    answers = nps_responses.sort_values(order, kind="stable")
    answers = answers.assign(previous=answers.groupby("account_id")["score"].shift())

    def compute(as_of: pd.Timestamp) -> pd.DataFrame:
        known = answers[answers["response_date"] < as_of + DAY]
        latest = latest_records(known, order)
        return latest[["response_date", "score", "previous"]]

    t = per_date(spine, compute)
    score = t["score"].astype("float64")
    return pd.DataFrame(
        {
            "account_id": t["account_id"],
            "as_of_date": t["as_of_date"],
            "last_nps": score,
            "nps_change": score - t["previous"].astype("float64"),
            "nps_detractor": (score < DETRACTOR_BELOW).astype("float64"),
            "days_since_nps": whole_days(t["as_of_date"], t["response_date"]),
        }
    )
