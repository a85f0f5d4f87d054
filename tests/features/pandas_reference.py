"""A straightforward pandas implementation of the model input, the Ibis build's oracle.

It computes what :func:`churn_pipeline.features.build.model_input` computes (the
spine, the label, all 66 registry features and those of configured usage
columns) the way one would write it by
hand in pandas: a loop over the as-of dates, boolean masks and ``groupby``. It
is an independent oracle: ``tests/features/test_pandas_reference.py`` checks
that it and the Ibis/DuckDB build give equal tables.

The point-in-time rules are those of ``churn_pipeline.features.pit``: a record
is known at as-of date ``t`` when it is dated before ``t + 1 day``; a window of
``w`` days holds the records dated in ``[t + 1 day - w days, t + 1 day)``; day
counts are whole calendar days.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from tests.features.pandas_reference_activity import (
    DAY,
    KEYS,
    MRR_LOOKBACK_DAYS,
    billing_features,
    latest_records,
    nps_features,
    per_date,
    ticket_features,
    usage_features,
    whole_days,
)
from tests.features.pandas_reference_configured import configured_features

from churn_pipeline.features.specs import DAYS_PER_MONTH
from churn_pipeline.validation.lifecycle import CANCELLATION, LIFECYCLE_EVENTS


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
        configured_features(
            spine,
            tables["usage"],
            tables["accounts"],
            account,
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
        now = latest_records(changes[changes["event_date"] < as_of + DAY], order)
        before_end = as_of - pd.Timedelta(days=MRR_LOOKBACK_DAYS) + DAY
        before = latest_records(changes[changes["event_date"] < before_end], order)
        return pd.DataFrame(
            {
                "change_date": now["event_date"],
                "plan_now": now["plan"],
                "seats_now": now["seats"],
                "mrr_now": now["mrr"],
                "mrr_before": before["mrr"],
            }
        )

    rows = per_date(spine, terms).join(
        accounts.set_index("account_id"), on="account_id"
    )
    tenure = whole_days(rows["as_of_date"], rows["signup_date"])
    mrr = rows["mrr_now"].fillna(rows["mrr"]).astype("float64")
    return pd.DataFrame(
        {
            "account_id": rows["account_id"],
            "as_of_date": rows["as_of_date"],
            "tenure_days": tenure,
            "tenure_months": np.floor(tenure / DAYS_PER_MONTH),
            "in_first_90_days": (tenure < 90).astype("float64"),
            "days_since_plan_change": whole_days(
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
