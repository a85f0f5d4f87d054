"""A straightforward pandas implementation of the model input, for the benchmark.

It computes what :func:`churn_pipeline.features.build.model_input` computes (the
spine, the label and all 66 registry features) the way one would write it by
hand in pandas: a loop over the as-of dates, boolean masks and ``groupby``. It
is the baseline the Ibis/DuckDB build is measured against, and the test
``tests/benchmarks/test_pandas_baseline.py`` checks that both give equal tables.

The point-in-time rules are those of ``churn_pipeline.features.pit``: a record
is known at as-of date ``t`` when it is dated before ``t + 1 day``; a window of
``w`` days holds the records dated in ``[t + 1 day - w days, t + 1 day)``; day
counts are whole calendar days.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from churn_pipeline.features.specs import (
    DAYS_PER_MONTH,
    KEY_FEATURES,
    TICKET_WINDOWS,
    USAGE_WINDOWS,
)
from churn_pipeline.validation.lifecycle import CANCELLATION, LIFECYCLE_EVENTS

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


def timeline(
    tables: Mapping[str, pd.DataFrame],
    *,
    min_history_days: int,
    max_snapshots: int,
) -> tuple[list[pd.Timestamp], pd.Timestamp, pd.Timestamp | None]:
    """The as-of dates, observation end and usage start, as ``build.timeline``.

    The history starts with the first usage day, else the first invoice, event
    or signup; it ends on the newest usage, event or invoice date.

    Args:
        tables: The validated tables by name.
        min_history_days: History needed before the first as-of date.
        max_snapshots: At most this many monthly as-of dates.

    Returns:
        The dates (oldest first), the observation end and the first usage day.
    """
    columns = {
        "usage": "usage_date",
        "invoices": "invoice_date",
        "subscription_events": "event_date",
        "accounts": "signup_date",
    }
    starts = {name: tables[name][column].min() for name, column in columns.items()}
    start = next(pd.Timestamp(d) for d in starts.values() if pd.notna(d))
    ends = [
        tables[name][columns[name]].max()
        for name in ("usage", "subscription_events", "invoices")
    ]
    end = max(pd.Timestamp(d) for d in [*ends, start] if pd.notna(d)).normalize()
    # Monthly steps back from the end, as ``churn_pipeline.features.spine``.
    earliest = start + pd.Timedelta(days=min_history_days)
    steps = (end - pd.DateOffset(months=k) for k in range(max_snapshots))
    dates = sorted(pd.Timestamp(d) for d in steps if d >= earliest)
    if not dates:
        raise ValueError(f"No as-of date fits between {start} and {end}")
    usage_start = starts["usage"]
    return dates, end, None if pd.isna(usage_start) else pd.Timestamp(usage_start)


def model_input(
    tables: Mapping[str, pd.DataFrame],
    dates: Sequence[pd.Timestamp],
    *,
    horizon_days: int,
    observation_end: pd.Timestamp,
    key_columns: Sequence[str],
    usage_start: pd.Timestamp | None,
) -> pd.DataFrame:
    """Spine, label and every feature group, one row per account and as-of date.

    Args:
        tables: The validated tables by name, as pandas frames.
        dates: The as-of dates.
        horizon_days: Label horizon.
        observation_end: Last day of data.
        key_columns: Usage columns that count as key-feature uses.
        usage_start: First usage day (``None`` without usage).

    Returns:
        Keys, ``label``, ``is_labelled`` and the feature columns, in the column
        order of the Ibis build, sorted by the keys.
    """
    dates = sorted(pd.Timestamp(d) for d in dates)
    spine = build_spine(
        tables["accounts"],
        tables["subscription_events"],
        dates,
        horizon_days=horizon_days,
        observation_end=pd.Timestamp(observation_end),
    )
    account = account_features(spine, tables["accounts"], tables["subscription_events"])
    groups = [
        account,
        usage_features(
            spine,
            tables["usage"],
            tables["accounts"],
            account,
            key_columns=key_columns,
            history_start=usage_start,
        ),
        ticket_features(spine, tables["tickets"]),
        billing_features(spine, tables["invoices"]),
        nps_features(spine, tables["nps_responses"]),
    ]
    table = spine
    for group in groups:
        table = table.merge(group, on=KEYS, how="left", validate="one_to_one")
    return table.sort_values(KEYS, ignore_index=True)


def _days(later: pd.Series | pd.Timestamp, earlier: pd.Series) -> pd.Series:
    """Whole calendar days from ``earlier`` to ``later`` (NaN where unknown)."""
    if isinstance(later, pd.Timestamp):
        later = later.normalize()
    else:
        later = later.dt.normalize()
    return (later - earlier.dt.normalize()).dt.days.astype("float64")


def _per_date(
    spine: pd.DataFrame, compute: Callable[[pd.Timestamp], pd.DataFrame]
) -> pd.DataFrame:
    """``compute(t)`` (indexed by account) for each as-of date, on the spine rows."""
    frames = []
    for as_of, rows in spine.groupby("as_of_date", sort=True):
        values = compute(pd.Timestamp(as_of))
        frames.append(rows[KEYS].join(values, on="account_id"))
    return pd.concat(frames, ignore_index=True)


def _latest(records: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Each account's last record in ``order``, indexed by account."""
    ordered = records.sort_values(order, kind="stable")
    return ordered.groupby("account_id").tail(1).set_index("account_id")


def build_spine(
    accounts: pd.DataFrame,
    subscription_events: pd.DataFrame,
    dates: Sequence[pd.Timestamp],
    *,
    horizon_days: int,
    observation_end: pd.Timestamp,
) -> pd.DataFrame:
    """Accounts signed up and not cancelled at each as-of date, with the label."""
    horizon = pd.Timedelta(days=horizon_days)
    lifecycle = subscription_events[
        subscription_events["event_type"].isin(LIFECYCLE_EVENTS)
    ]
    cancellations = subscription_events[
        subscription_events["event_type"] == CANCELLATION
    ]
    frames = []
    for as_of in dates:
        end = as_of + DAY
        signed_up = accounts.loc[accounts["signup_date"] < end, "account_id"]
        # Cancellations and reactivations alternate: an odd count is cancelled.
        flips = lifecycle[lifecycle["event_date"] < end].groupby("account_id").size()
        known_flips = flips.reindex(signed_up.to_numpy()).fillna(0).to_numpy()
        active = signed_up.to_numpy()[known_flips % 2 == 0]
        is_labelled = as_of + horizon <= observation_end
        ahead = cancellations[
            (cancellations["event_date"] >= end)
            & (cancellations["event_date"] < end + horizon)
        ]
        churned = pd.Series(active).isin(ahead["account_id"]).astype("float64")
        frames.append(
            pd.DataFrame(
                {
                    "account_id": active,
                    "as_of_date": as_of,
                    "label": churned.to_numpy() if is_labelled else np.nan,
                    "is_labelled": is_labelled,
                }
            )
        )
    spine = pd.concat(frames, ignore_index=True)
    spine["as_of_date"] = spine["as_of_date"].astype("datetime64[ns]")
    spine["label"] = spine["label"].astype("float64")
    spine["is_labelled"] = spine["is_labelled"].astype(bool)
    return spine


def account_features(
    spine: pd.DataFrame, accounts: pd.DataFrame, subscription_events: pd.DataFrame
) -> pd.DataFrame:
    """Tenure, plan changes, MRR, seats and firmographics per spine row."""
    changes = subscription_events[subscription_events["event_type"] != CANCELLATION]
    changes = changes[["event_id", "account_id", "event_date", "plan", "seats", "mrr"]]
    order = ["account_id", "event_date", "event_id"]

    def terms(as_of: pd.Timestamp) -> pd.DataFrame:
        now = _latest(changes[changes["event_date"] < as_of + DAY], order)
        before_end = as_of - pd.Timedelta(days=MRR_LOOKBACK_DAYS) + DAY
        before = _latest(changes[changes["event_date"] < before_end], order)
        return pd.DataFrame(
            {
                "change_date": now["event_date"],
                "plan_now": now["plan"],
                "seats_now": now["seats"],
                "mrr_now": now["mrr"],
                "mrr_before": before["mrr"],
            }
        )

    rows = _per_date(spine, terms).join(
        accounts.set_index("account_id"), on="account_id"
    )
    tenure = _days(rows["as_of_date"], rows["signup_date"])
    mrr = rows["mrr_now"].fillna(rows["mrr"]).astype("float64")
    return pd.DataFrame(
        {
            "account_id": rows["account_id"],
            "as_of_date": rows["as_of_date"],
            "tenure_days": tenure,
            "tenure_months": np.floor(tenure / DAYS_PER_MONTH),
            "in_first_90_days": (tenure < 90).astype("float64"),
            "days_since_plan_change": _days(
                rows["as_of_date"], rows["change_date"]
            ).fillna(tenure),
            "mrr": mrr,
            "mrr_change_90d": mrr
            - rows["mrr_before"].fillna(rows["mrr"]).astype("float64"),
            "seats": rows["seats_now"].fillna(rows["seats"]).astype("float64"),
            "discount_pct": rows["discount_pct"].astype("float64"),
            "plan": rows["plan_now"].fillna(rows["plan"]),
            "billing_cycle": rows["billing_cycle"],
            "industry": rows["industry"],
            "acquisition_channel": rows["acquisition_channel"],
            "country": rows["country"],
        }
    )


def _trend(last: pd.Series, previous: pd.Series) -> pd.Series:
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

    t = _per_date(spine, counts)
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
            "logins", _trend(count("logins_30d"), count("logins_prev_30d"))
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
        "days_since_last_login": _days(
            t["as_of_date"], t["last_active_date"].fillna(seen_from)
        ),
        **{
            f"key_feature_uses_{d}d": count(f"key_feature_uses_{d}d")
            for d in USAGE_WINDOWS
        },
        "key_feature_trend_30d": _trend(
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
                "oldest_open_ticket_days": _days(as_of, still_open["opened_at"]),
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

    t = _per_date(spine, compute)

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

    t = _per_date(spine, compute)
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
            "days_since_failed_payment": _days(t["as_of_date"], t["last_failure"]),
        }
    )


def nps_features(spine: pd.DataFrame, nps_responses: pd.DataFrame) -> pd.DataFrame:
    """The latest NPS answer, its change, the detractor flag and its age."""
    order = ["account_id", "response_date", "response_id"]
    answers = nps_responses.sort_values(order, kind="stable")
    answers = answers.assign(previous=answers.groupby("account_id")["score"].shift())

    def compute(as_of: pd.Timestamp) -> pd.DataFrame:
        known = answers[answers["response_date"] < as_of + DAY]
        latest = _latest(known, order)
        return latest[["response_date", "score", "previous"]]

    t = _per_date(spine, compute)
    score = t["score"].astype("float64")
    return pd.DataFrame(
        {
            "account_id": t["account_id"],
            "as_of_date": t["as_of_date"],
            "last_nps": score,
            "nps_change": score - t["previous"].astype("float64"),
            "nps_detractor": (score < DETRACTOR_BELOW).astype("float64"),
            "days_since_nps": _days(t["as_of_date"], t["response_date"]),
        }
    )


def frame_differences(
    expected: pd.DataFrame, actual: pd.DataFrame, *, rtol: float = 1e-9
) -> list[str]:
    """How two model input tables differ (empty when they are equal).

    Both must be sorted by the keys. Numeric columns are compared within
    ``rtol`` with NaN (or null) in the same places; other columns exactly.

    Args:
        expected: One table, e.g. the Ibis build's.
        actual: The other, e.g. this module's.
        rtol: Relative tolerance of numeric columns.

    Returns:
        One line per difference found.
    """
    if list(expected.columns) != list(actual.columns):
        return [f"columns differ: {list(expected.columns)} != {list(actual.columns)}"]
    if len(expected) != len(actual):
        return [f"row counts differ: {len(expected)} != {len(actual)}"]
    problems = []
    for column in expected.columns:
        left, right = expected[column], actual[column]
        if column == "as_of_date":
            left, right = left.astype("datetime64[ns]"), right.astype("datetime64[ns]")
        numeric = pd.api.types.is_numeric_dtype(left) and not (
            pd.api.types.is_bool_dtype(left)
        )
        if numeric:
            a = left.astype("float64").to_numpy()
            b = right.astype("float64").to_numpy()
            same = np.isclose(a, b, rtol=rtol, atol=0.0, equal_nan=True) & (
                np.isnan(a) == np.isnan(b)
            )
        else:
            a = left.astype(object).to_numpy()
            b = right.astype(object).to_numpy()
            same = (a == b) | (pd.isna(a) & pd.isna(b))
        if not same.all():
            first = int(np.flatnonzero(~same)[0])
            problems.append(
                f"{column}: {int((~same).sum())} rows differ, e.g. "
                f"{expected.loc[first, KEYS].tolist()}: {a[first]!r} != {b[first]!r}"
            )
    return problems
