"""The pandas reference's features of configured usage columns.

Written by hand from the rule in ``docs/features.md`` ("Features from your usage
columns"), not from the Ibis code: for each usage column outside the contract's,
its sums over the usage windows, the 30-day trend, the days since it was last
positive and the 30-day sum per seat.
"""

from __future__ import annotations

import pandas as pd
from tests.features.pandas_reference_activity import (
    DAY,
    KEYS,
    per_date,
    trend,
    whole_days,
)

from churn_pipeline.features.specs import USAGE_WINDOWS

CONTRACT_COLUMNS = (
    "account_id",
    "usage_date",
    "logins",
    "active_users",
    "uses_reports",
    "uses_dashboards",
    "uses_integrations",
    "uses_automations",
)


def configured_features(
    spine: pd.DataFrame,
    usage: pd.DataFrame,
    accounts: pd.DataFrame,
    account: pd.DataFrame,
    *,
    history_start: pd.Timestamp | None,
) -> pd.DataFrame:
    """Keys plus the features of each usage column outside the contract's."""
    columns = [c for c in usage.columns if c not in CONTRACT_COLUMNS]
    if not columns:
        return spine[KEYS].copy()

    def per_account(as_of: pd.Timestamp) -> pd.DataFrame:
        end = as_of + DAY
        known = usage[usage["usage_date"] < end]
        age = (end - known["usage_date"]).dt.days  # 1 on the as-of day itself
        found = {}
        for c in columns:
            for days in USAGE_WINDOWS:
                found[f"{c}_{days}d"] = known[c].where(age <= days, 0)
            found[f"{c}_prev"] = known[c].where((age > 30) & (age <= 60), 0)
            found[f"{c}_last"] = known["usage_date"].where(known[c] > 0)
        frame = pd.DataFrame(found).groupby(known["account_id"])
        sums = frame[[n for n in found if not n.endswith("_last")]].sum()
        lasts = frame[[f"{c}_last" for c in columns]].max()
        return sums.join(lasts)

    t = per_date(spine, per_account)
    t = t.merge(account[[*KEYS, "seats"]], on=KEYS, how="left")
    signup = t["account_id"].map(accounts.set_index("account_id")["signup_date"])
    seen_from = signup if history_start is None else signup.clip(lower=history_start)
    seats = t["seats"].astype("float64")
    out = {}
    for c in columns:
        sums = {d: t[f"{c}_{d}d"].fillna(0).astype("float64") for d in USAGE_WINDOWS}
        out |= {f"{c}_{d}d": sums[d] for d in USAGE_WINDOWS}
        out[f"{c}_trend_30d"] = trend(sums[30], t[f"{c}_prev"].fillna(0))
        out[f"days_since_{c}"] = whole_days(
            t["as_of_date"], t[f"{c}_last"].fillna(seen_from)
        )
        out[f"{c}_per_seat_30d"] = sums[30] / seats
    return pd.concat([t[KEYS], pd.DataFrame(out)], axis=1)
