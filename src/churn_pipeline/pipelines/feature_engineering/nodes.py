"""Point-in-time feature and label nodes.

Every feature at as-of date ``t`` uses only rows dated on or before ``t`` (for
timestamps: before the end of day ``t``). The label is 1 when the account's
cancellation falls in ``(t, t + horizon_days]``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from churn_pipeline.features import FEATURES_BY_NAME, feature_names
from churn_pipeline.lifecycle import CANCELLATION, cancelled_at

logger = logging.getLogger(__name__)

SPINE_KEYS = ["account_id", "as_of_date"]
_DAY = pd.Timedelta(days=1)


def _observation_end(
    usage: pd.DataFrame,
    subscription_events: pd.DataFrame,
    invoices: pd.DataFrame,
    configured: str | None,
) -> pd.Timestamp:
    if configured:
        return pd.Timestamp(configured)
    latest = [
        usage["usage_date"].max(),
        subscription_events["event_date"].max(),
        invoices["invoice_date"].max(),
    ]
    return pd.Timestamp(max(d for d in latest if pd.notna(d))).normalize()


def _history_start(
    accounts: pd.DataFrame,
    subscription_events: pd.DataFrame,
    usage: pd.DataFrame,
    invoices: pd.DataFrame,
) -> pd.Timestamp:
    """Where the recorded history begins: usage if present, else billing, else events.

    Usage comes first because the usage features need its whole look-back window.
    """
    for dates in (
        usage["usage_date"],
        invoices["invoice_date"],
        subscription_events["event_date"],
        accounts["signup_date"],
    ):
        if dates.notna().any():
            return pd.Timestamp(dates.min())
    raise ValueError("No dated record in any table: cannot place as-of dates")


def build_spine(
    accounts: pd.DataFrame,
    subscription_events: pd.DataFrame,
    usage: pd.DataFrame,
    invoices: pd.DataFrame,
    params: dict[str, Any],
) -> pd.DataFrame:
    """List the accounts active at each monthly as-of date with their label.

    Active means signed up and not in a cancelled stretch (a reactivation ends
    one). The label is 1 when a cancellation falls in ``(t, t + horizon]``.

    As-of dates step back one calendar month at a time from the observation end,
    so the newest one is the end itself: the unlabelled date that gets scored.

    Args:
        accounts: Validated accounts.
        subscription_events: Validated plan changes and cancellations.
        usage: Validated daily usage (its first date starts the history).
        invoices: Validated invoices (start the history when usage is absent).
        params: ``feature_engineering`` parameters.

    Returns:
        One row per (account_id, as_of_date) with ``label`` (float, NaN when the
        horizon reaches past the observation end) and ``is_labelled``.
    """
    horizon = pd.Timedelta(days=params["horizon_days"])
    end = _observation_end(
        usage, subscription_events, invoices, params.get("observation_end")
    )
    history_start = _history_start(accounts, subscription_events, usage, invoices)
    earliest = history_start + pd.Timedelta(days=params["min_history_days"])
    as_of_dates = [
        end - pd.DateOffset(months=k) for k in range(params["max_snapshots"])
    ]
    as_of_dates = sorted(d for d in as_of_dates if d >= earliest)
    if not as_of_dates:
        raise ValueError(
            f"No as-of date fits: history starts {history_start.date()}, "
            f"observation ends {end.date()}, min_history_days="
            f"{params['min_history_days']}"
        )
    cancellations = subscription_events[
        subscription_events["event_type"] == CANCELLATION
    ]
    frames = []
    for as_of in as_of_dates:
        signed_up = accounts.loc[accounts["signup_date"] <= as_of, "account_id"]
        cancelled = cancelled_at(
            subscription_events,
            signed_up,
            pd.Series(as_of, index=signed_up.index),
            inclusive=True,
        )
        active = signed_up[~cancelled].to_numpy()
        snapshot = pd.DataFrame({"account_id": active, "as_of_date": as_of})
        is_labelled = as_of + horizon <= end
        in_window = cancellations[
            (cancellations["event_date"] > as_of)
            & (cancellations["event_date"] <= as_of + horizon)
        ]
        churned = snapshot["account_id"].isin(in_window["account_id"])
        snapshot["label"] = churned.astype(float) if is_labelled else np.nan
        snapshot["is_labelled"] = is_labelled
        frames.append(snapshot)
    spine = pd.concat(frames, ignore_index=True)
    spine["as_of_date"] = spine["as_of_date"].astype("datetime64[ns]")
    logger.info(
        "Spine: %d snapshots of %d as-of dates (%s .. %s), %d labelled rows, "
        "churn rate %.2f%%",
        len(spine),
        len(as_of_dates),
        as_of_dates[0].date(),
        as_of_dates[-1].date(),
        int(spine["is_labelled"].sum()),
        100 * spine["label"].mean(),
    )
    return spine


def _per_as_of(spine: pd.DataFrame, compute: Any, columns: list[str]) -> pd.DataFrame:
    """Apply ``compute(as_of, accounts) -> frame indexed by account_id`` per date."""
    frames = []
    for as_of, group in spine.groupby("as_of_date", sort=True):
        values = compute(pd.Timestamp(as_of), group["account_id"])
        frame = group[SPINE_KEYS].join(values, on="account_id")
        frames.append(frame)
    result = pd.concat(frames, ignore_index=True)
    return result[[*SPINE_KEYS, *columns]]


def build_account_features(
    spine: pd.DataFrame,
    accounts: pd.DataFrame,
    subscription_events: pd.DataFrame,
) -> pd.DataFrame:
    """Tenure and the plan, seats and MRR in force at each as-of date.

    Args:
        spine: Active accounts per as-of date.
        accounts: Validated accounts (state at signup).
        subscription_events: Validated plan changes.

    Returns:
        Spine keys plus tenure, plan, billing and firmographic features.
    """
    static = accounts.set_index("account_id")
    base = spine[SPINE_KEYS].join(static, on="account_id")
    changes = (
        subscription_events.loc[
            subscription_events["event_type"] != "cancellation",
            ["account_id", "event_date", "plan", "seats", "mrr"],
        ]
        .sort_values("event_date")
        .rename(columns={"plan": "plan_now", "seats": "seats_now", "mrr": "mrr_now"})
    )
    order = base.sort_values("as_of_date").index
    latest = pd.merge_asof(
        base.loc[order, SPINE_KEYS],
        changes,
        left_on="as_of_date",
        right_on="event_date",
        by="account_id",
        direction="backward",
    )
    latest.index = order
    latest = latest.reindex(base.index)
    tenure = (base["as_of_date"] - base["signup_date"]).dt.days.astype(float)
    since_change = (base["as_of_date"] - latest["event_date"]).dt.days
    return pd.DataFrame(
        {
            "account_id": base["account_id"],
            "as_of_date": base["as_of_date"],
            "tenure_days": tenure,
            "mrr": latest["mrr_now"].fillna(base["mrr"]).astype(float),
            "seats": latest["seats_now"].fillna(base["seats"]).astype(float),
            "discount_pct": base["discount_pct"].astype(float),
            "days_since_plan_change": since_change.fillna(tenure).astype(float),
            "plan": latest["plan_now"].fillna(base["plan"]),
            "billing_cycle": base["billing_cycle"],
            "industry": base["industry"],
            "acquisition_channel": base["acquisition_channel"],
            "country": base["country"],
        }
    )


def build_usage_features(
    spine: pd.DataFrame,
    usage: pd.DataFrame,
    account_features: pd.DataFrame,
    params: dict[str, Any],
) -> pd.DataFrame:
    """Usage level, trend, breadth and recency over the last 30 and 60 days.

    Args:
        spine: Active accounts per as-of date.
        usage: Validated daily usage (one row per active day).
        account_features: For seats and tenure at the as-of date.
        params: ``feature_engineering`` parameters (key feature columns).

    Returns:
        Spine keys plus usage features.
    """
    key_columns = list(params["key_feature_columns"])
    history_start = usage["usage_date"].min()
    by_account = usage.assign(
        key_uses=usage[key_columns].sum(axis=1),
        logins=usage.get("logins", np.nan),
        active_users=usage.get("active_users", np.nan),
    )
    columns = [
        "logins_30d",
        "logins_prev_30d",
        "active_days_30d",
        "active_users_30d",
        "key_feature_uses_30d",
        "last_login",
    ]

    def compute(as_of: pd.Timestamp, _: pd.Series) -> pd.DataFrame:
        past = by_account[by_account["usage_date"] <= as_of]
        recent = past[past["usage_date"] > as_of - 30 * _DAY]
        previous = past[
            (past["usage_date"] > as_of - 60 * _DAY)
            & (past["usage_date"] <= as_of - 30 * _DAY)
        ]
        grouped = recent.groupby("account_id")
        return pd.DataFrame(
            {
                "logins_30d": grouped["logins"].sum(),
                "logins_prev_30d": previous.groupby("account_id")["logins"].sum(),
                "active_days_30d": grouped.size(),
                "active_users_30d": grouped["active_users"].mean(),
                "key_feature_uses_30d": grouped["key_uses"].sum(),
                "last_login": past.groupby("account_id")["usage_date"].max(),
            }
        )

    raw = _per_as_of(spine, compute, columns)
    seats = raw[SPINE_KEYS].merge(account_features, on=SPINE_KEYS, how="left")
    logins = raw["logins_30d"].fillna(0.0)
    previous = raw["logins_prev_30d"].fillna(0.0)
    # Without any login on record, recency counts from when we could have seen one.
    signup = raw["as_of_date"] - pd.to_timedelta(seats["tenure_days"], unit="D")
    # Absent usage has no history start: recency then counts from signup.
    seen_from = signup.clip(lower=history_start) if pd.notna(history_start) else signup
    last_seen = raw["last_login"].fillna(seen_from)
    features = pd.DataFrame(
        {
            "account_id": raw["account_id"],
            "as_of_date": raw["as_of_date"],
            "logins_30d": logins,
            "logins_trend_30d": (logins + 1.0) / (previous + 1.0) - 1.0,
            "active_days_30d": raw["active_days_30d"].fillna(0.0).astype(float),
            "active_users_per_seat_30d": (
                raw["active_users_30d"].fillna(0.0) / seats["seats"]
            ),
            "key_feature_uses_30d": raw["key_feature_uses_30d"]
            .fillna(0.0)
            .astype(float),
            "days_since_last_login": (raw["as_of_date"] - last_seen).dt.days.astype(
                float
            ),
        }
    )
    # A feature needing a count column the data lacks is unknown, not zero;
    # training leaves it out (see ``available_features``).
    for name in features.columns.drop(SPINE_KEYS):
        if not set(FEATURES_BY_NAME[name].requires) <= set(usage.columns):
            features[name] = np.nan
    return features


def build_ticket_features(spine: pd.DataFrame, tickets: pd.DataFrame) -> pd.DataFrame:
    """Recent, open and long-open support tickets.

    Args:
        spine: Active accounts per as-of date.
        tickets: Validated support tickets.

    Returns:
        Spine keys plus ticket features.
    """
    columns = ["tickets_30d", "tickets_open", "tickets_open_over_5d"]

    def compute(as_of: pd.Timestamp, _: pd.Series) -> pd.DataFrame:
        cutoff = as_of + _DAY  # timestamps during the as-of day are known
        opened = tickets[tickets["opened_at"] < cutoff]
        is_open = opened["closed_at"].isna() | (opened["closed_at"] >= cutoff)
        still_open = opened[is_open]
        return pd.DataFrame(
            {
                "tickets_30d": opened[opened["opened_at"] >= cutoff - 30 * _DAY]
                .groupby("account_id")
                .size(),
                "tickets_open": still_open.groupby("account_id").size(),
                "tickets_open_over_5d": still_open[
                    still_open["opened_at"] < cutoff - 5 * _DAY
                ]
                .groupby("account_id")
                .size(),
            }
        )

    features = _per_as_of(spine, compute, columns)
    features[columns] = features[columns].fillna(0.0).astype(float)
    return features


def build_billing_features(spine: pd.DataFrame, invoices: pd.DataFrame) -> pd.DataFrame:
    """Failed payments in the last 90 days.

    Args:
        spine: Active accounts per as-of date.
        invoices: Validated invoices.

    Returns:
        Spine keys plus billing features.
    """
    failed = invoices[invoices["status"] == "failed"]

    def compute(as_of: pd.Timestamp, _: pd.Series) -> pd.DataFrame:
        window = failed[
            (failed["invoice_date"] <= as_of)
            & (failed["invoice_date"] > as_of - 90 * _DAY)
        ]
        return pd.DataFrame(
            {"failed_payments_90d": window.groupby("account_id").size()}
        )

    features = _per_as_of(spine, compute, ["failed_payments_90d"])
    features["failed_payments_90d"] = features["failed_payments_90d"].fillna(0.0)
    return features.astype({"failed_payments_90d": float})


def build_nps_features(
    spine: pd.DataFrame, nps_responses: pd.DataFrame
) -> pd.DataFrame:
    """The most recent NPS answer (NaN when the account never answered).

    Args:
        spine: Active accounts per as-of date.
        nps_responses: Validated NPS responses.

    Returns:
        Spine keys plus ``last_nps``.
    """
    responses = nps_responses.sort_values(["response_date", "response_id"])

    def compute(as_of: pd.Timestamp, _: pd.Series) -> pd.DataFrame:
        known = responses[responses["response_date"] <= as_of]
        return pd.DataFrame(
            {"last_nps": known.groupby("account_id")["score"].last().astype(float)}
        )

    return _per_as_of(spine, compute, ["last_nps"])


def join_features(
    spine: pd.DataFrame,
    account_features: pd.DataFrame,
    usage_features: pd.DataFrame,
    ticket_features: pd.DataFrame,
    billing_features: pd.DataFrame,
    nps_features: pd.DataFrame,
) -> pd.DataFrame:
    """Join the feature groups onto the spine: the model input table.

    Args:
        spine: Active accounts per as-of date with labels.
        account_features: Tenure, plan and firmographics.
        usage_features: Usage features.
        ticket_features: Support-ticket features.
        billing_features: Billing features.
        nps_features: NPS features.

    Returns:
        One row per (account_id, as_of_date): keys, registry features, label.

    Raises:
        ValueError: If a feature group lost or duplicated rows.
    """
    table = spine
    for group in (
        account_features,
        usage_features,
        ticket_features,
        billing_features,
        nps_features,
    ):
        table = table.merge(group, on=SPINE_KEYS, how="left", validate="one_to_one")
    if len(table) != len(spine):
        raise ValueError(f"Joining features changed rows: {len(spine)} -> {len(table)}")
    return table[[*SPINE_KEYS, *feature_names(), "label", "is_labelled"]]
