"""The whole model input table as one expression: spine, labels and features.

The pipeline runs the feature groups as separate nodes (each its own file in
the catalog); this composes the same functions for one-shot use, e.g. the
benchmark and the backend-equality test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
from ibis.backends import BaseBackend
from ibis.expr.types import Table

from churn_pipeline.features.account import account_features
from churn_pipeline.features.billing import billing_features
from churn_pipeline.features.nps import nps_features
from churn_pipeline.features.pit import KEYS
from churn_pipeline.features.spine import as_of_dates, spine
from churn_pipeline.features.tickets import ticket_features
from churn_pipeline.features.usage import usage_features

TABLES = (
    "accounts",
    "subscription_events",
    "usage",
    "tickets",
    "invoices",
    "nps_responses",
)
# The column of each table whose first and last dates place the timeline.
DATE_COLUMNS = {
    "usage": "usage_date",
    "invoices": "invoice_date",
    "subscription_events": "event_date",
    "accounts": "signup_date",
}


@dataclass(frozen=True)
class Timeline:
    """Where the recorded history starts and ends, and the as-of dates."""

    history_start: pd.Timestamp
    observation_end: pd.Timestamp
    usage_start: pd.Timestamp | None
    dates: list[pd.Timestamp]


def date_bound(
    con: BaseBackend, table: Table, column: str, which: str
) -> pd.Timestamp | None:
    """The ``min`` or ``max`` (``which``) of a date column, run on ``con``."""
    value = con.execute(getattr(table[column], which)())
    return None if value is None or pd.isna(value) else pd.Timestamp(value)


def timeline(
    con: BaseBackend,
    tables: Mapping[str, Table],
    *,
    observation_end: str | None,
    min_history_days: int,
    max_snapshots: int,
) -> Timeline:
    """Place the as-of dates in the data.

    The history starts with the first usage day (the usage features need their
    whole look-back), else the first invoice, event or signup; it ends on the
    configured day, else the newest usage, event or invoice date.

    Args:
        con: Where to run the two small queries.
        tables: The validated tables by name.
        observation_end: Configured last day, or ``None``.
        min_history_days: History needed before the first as-of date.
        max_snapshots: At most this many monthly as-of dates.

    Returns:
        The timeline.

    Raises:
        ValueError: If no table holds a date.
    """
    starts = {
        name: date_bound(con, tables[name], column, "min")
        for name, column in DATE_COLUMNS.items()
    }
    start = next(
        (
            starts[n]
            for n in ("usage", "invoices", "subscription_events", "accounts")
            if starts[n] is not None
        ),
        None,
    )
    if start is None:
        raise ValueError("No dated record in any table: cannot place as-of dates")
    if observation_end:
        end = pd.Timestamp(observation_end)
    else:
        ends = [
            date_bound(con, tables[name], DATE_COLUMNS[name], "max")
            for name in ("usage", "subscription_events", "invoices")
        ]
        end = max(e for e in [*ends, start] if e is not None).normalize()
    dates = as_of_dates(
        start, end, min_history_days=min_history_days, max_snapshots=max_snapshots
    )
    return Timeline(start, end, starts["usage"], dates)


def model_input(
    tables: Mapping[str, Table],
    dates: Sequence[pd.Timestamp],
    *,
    horizon_days: int,
    observation_end: pd.Timestamp,
    key_columns: Sequence[str],
    usage_start: pd.Timestamp | None,
) -> Table:
    """Spine, label and every feature group, one row per account and as-of date.

    Args:
        tables: The validated tables by name (``TABLES``).
        dates: The as-of dates.
        horizon_days: Label horizon.
        observation_end: Last day of data.
        key_columns: Usage columns that count as key-feature uses.
        usage_start: First usage day (``None`` without usage).

    Returns:
        Keys, ``label``, ``is_labelled`` and the feature columns (the configured
        usage columns' after the usage features).
    """
    rows = spine(
        tables["accounts"],
        tables["subscription_events"],
        dates,
        horizon_days=horizon_days,
        observation_end=observation_end,
    )
    account = account_features(
        rows, tables["accounts"], tables["subscription_events"], dates
    )
    groups = [
        account,
        usage_features(
            rows,
            tables["usage"],
            tables["accounts"],
            account,
            dates,
            key_columns=key_columns,
            history_start=usage_start,
        ),
        ticket_features(rows, tables["tickets"], dates),
        billing_features(rows, tables["invoices"], dates),
        nps_features(rows, tables["nps_responses"], dates),
    ]
    table = rows
    for group in groups:
        table = table.left_join(group, KEYS)
    # Left joins keep each group's own keys as *_right; keep the spine's.
    return table.select(
        *rows.columns,
        *(name for group in groups for name in group.columns if name not in KEYS),
    )


def placed_model_input(
    con: BaseBackend,
    tables: Mapping[str, Table],
    *,
    horizon_days: int,
    key_columns: Sequence[str],
    min_history_days: int,
    max_snapshots: int,
    observation_end: str | None = None,
) -> Table:
    """:func:`model_input` at the as-of dates :func:`timeline` places in ``tables``.

    The one-shot build of a whole business (demo data, tests); the pipeline
    places the dates in its spine node instead.
    """
    placed = timeline(
        con,
        tables,
        observation_end=observation_end,
        min_history_days=min_history_days,
        max_snapshots=max_snapshots,
    )
    return model_input(
        tables,
        placed.dates,
        horizon_days=horizon_days,
        observation_end=placed.observation_end,
        key_columns=key_columns,
        usage_start=placed.usage_start,
    )
