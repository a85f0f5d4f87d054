"""Tenure, and the plan, seats and MRR in force at each as-of date."""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd
from ibis.expr.types import Table

from churn_pipeline.features.pit import KEYS, days_between, latest_rows
from churn_pipeline.features.specs import DAYS_PER_MONTH
from churn_pipeline.validation.lifecycle import CANCELLATION

_TERMS = ("plan", "seats", "mrr")
MRR_LOOKBACK_DAYS = 90


def _terms_at(
    keys: Table, changes: Table, dates: Sequence[pd.Timestamp], shift_days: int
) -> Table:
    """Plan, seats, MRR and date of the latest change known ``shift_days`` before."""
    shift = ibis.interval(days=shift_days)
    shifted = keys.select("account_id", as_of_date=keys.as_of_date - shift)
    latest = latest_rows(
        shifted,
        changes.select("event_id", "account_id", "event_date", *_TERMS),
        "event_date",
        "event_id",
        [pd.Timestamp(d) - pd.Timedelta(days=shift_days) for d in dates],
    )
    return latest.mutate(as_of_date=latest.as_of_date + shift).drop("event_id")


def account_features(
    spine: Table,
    accounts: Table,
    subscription_events: Table,
    dates: Sequence[pd.Timestamp],
) -> Table:
    """Tenure, plan changes, MRR and firmographics per spine row.

    Args:
        spine: ``account_id``, ``as_of_date``.
        accounts: Validated accounts (terms at signup).
        subscription_events: Validated events; every event but a cancellation
            sets the plan, seats and MRR in force.
        dates: The as-of dates.

    Returns:
        Keys plus the tenure and account features of the registry.
    """
    keys = spine.select(*KEYS)
    changes = subscription_events.filter(subscription_events.event_type != CANCELLATION)
    now = _terms_at(keys, changes, dates, 0).rename(
        change_date="event_date", plan_now="plan", seats_now="seats", mrr_now="mrr"
    )
    before = _terms_at(keys, changes, dates, MRR_LOOKBACK_DAYS).select(
        *KEYS, mrr_before="mrr"
    )
    rows = (
        keys.join(accounts, "account_id").left_join(now, KEYS).left_join(before, KEYS)
    )
    tenure = days_between(rows.as_of_date, rows.signup_date)
    mrr = rows.mrr_now.fill_null(rows.mrr).cast("float64")
    return rows.select(
        "account_id",
        "as_of_date",
        tenure_days=tenure.cast("float64"),
        tenure_months=(tenure / DAYS_PER_MONTH).floor().cast("float64"),
        in_first_90_days=ibis.ifelse(tenure < 90, 1.0, 0.0),
        days_since_plan_change=days_between(rows.as_of_date, rows.change_date)
        .fill_null(tenure)
        .cast("float64"),
        mrr=mrr,
        mrr_change_90d=mrr - rows.mrr_before.fill_null(rows.mrr).cast("float64"),
        seats=rows.seats_now.fill_null(rows.seats).cast("float64"),
        discount_pct=rows.discount_pct.cast("float64"),
        plan=rows.plan_now.fill_null(rows.plan),
        billing_cycle=rows.billing_cycle,
        industry=rows.industry,
        acquisition_channel=rows.acquisition_channel,
        country=rows.country,
    )
