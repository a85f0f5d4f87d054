"""Point-in-time feature and label nodes.

Each node turns its validated pandas inputs into Ibis tables, builds one feature
group with :mod:`churn_pipeline.features`, and runs it on the configured engine
(``feature_engineering.engine``: DuckDB in-process by default, or Spark). Every
feature at as-of date ``t`` uses only records known by the end of day ``t``; the
label is 1 when a cancellation falls in ``(t, t + horizon_days]``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pandas as pd
from ibis.expr.types import Table

from churn_pipeline.features import engine, feature_names
from churn_pipeline.features.account import account_features
from churn_pipeline.features.billing import billing_features
from churn_pipeline.features.build import DATE_COLUMNS, timeline
from churn_pipeline.features.nps import nps_features
from churn_pipeline.features.pit import KEYS
from churn_pipeline.features.specs import usage_columns_of
from churn_pipeline.features.spine import spine
from churn_pipeline.features.tickets import ticket_features
from churn_pipeline.features.usage import usage_features

logger = logging.getLogger(__name__)


def _dates(spine_frame: pd.DataFrame) -> list[pd.Timestamp]:
    return [pd.Timestamp(d) for d in sorted(spine_frame["as_of_date"].unique())]


def _run(
    params: dict[str, Any],
    build: Callable[..., Table],
    *frames: pd.DataFrame,
    **options: Any,
) -> pd.DataFrame:
    """Build a feature group from pandas frames and run it on the engine."""
    con = engine.connect_configured(params)
    result = engine.execute(con, build(*map(engine.table, frames), **options), KEYS)
    logger.info("%s: %d rows x %d columns", build.__name__, *result.shape)
    return result


def build_spine(
    accounts: pd.DataFrame,
    subscription_events: pd.DataFrame,
    usage: pd.DataFrame,
    invoices: pd.DataFrame,
    params: dict[str, Any],
) -> pd.DataFrame:
    """List the accounts active at each monthly as-of date, with their label.

    As-of dates step back one calendar month at a time from the observation
    end (configured, else the newest usage, event or invoice date), so the
    newest one is the unlabelled date that gets scored.

    Args:
        accounts: Validated accounts.
        subscription_events: Validated plan changes and cancellations.
        usage: Validated daily usage (its first date starts the history).
        invoices: Validated invoices (start the history when usage is absent).
        params: ``feature_engineering`` parameters.

    Returns:
        One row per (account_id, as_of_date) with ``label`` (NaN when the
        horizon reaches past the observation end) and ``is_labelled``.
    """
    con = engine.connect_configured(params)
    tables = {
        "accounts": engine.table(accounts),
        "subscription_events": engine.table(subscription_events),
        # Only their dates place the timeline: converting all of usage for
        # Ibis would cost more than the spine (~1 s per 18 M rows).
        "usage": engine.table(usage[[DATE_COLUMNS["usage"]]]),
        "invoices": engine.table(invoices[[DATE_COLUMNS["invoices"]]]),
    }
    placed = timeline(
        con,
        tables,
        observation_end=params.get("observation_end"),
        min_history_days=params["min_history_days"],
        max_snapshots=params["max_snapshots"],
    )
    rows = engine.execute(
        con,
        spine(
            tables["accounts"],
            tables["subscription_events"],
            placed.dates,
            horizon_days=params["horizon_days"],
            observation_end=placed.observation_end,
            label_delay_days=params.get("label_delay_days", 0),
        ),
        KEYS,
    )
    logger.info(
        "Spine: %d snapshots of %d as-of dates (%s .. %s), %d labelled rows, "
        "churn rate %.2f%%",
        len(rows),
        len(placed.dates),
        placed.dates[0].date(),
        placed.dates[-1].date(),
        int(rows["is_labelled"].sum()),
        100 * rows["label"].mean(),
    )
    return rows


def build_account_features(
    spine: pd.DataFrame,
    accounts: pd.DataFrame,
    subscription_events: pd.DataFrame,
    params: dict[str, Any],
) -> pd.DataFrame:
    """Tenure and the plan, seats and MRR in force at each as-of date.

    Args:
        spine: Active accounts per as-of date.
        accounts: Validated accounts (terms at signup).
        subscription_events: Validated plan changes.
        params: ``feature_engineering`` parameters (the engine).

    Returns:
        Spine keys plus tenure, plan, billing and firmographic features.
    """
    return _run(
        params,
        account_features,
        spine[KEYS],
        accounts,
        subscription_events,
        dates=_dates(spine),
    )


def build_usage_features(
    spine: pd.DataFrame,
    usage: pd.DataFrame,
    accounts: pd.DataFrame,
    account_features: pd.DataFrame,
    params: dict[str, Any],
) -> pd.DataFrame:
    """Usage level, trend, breadth, per-seat intensity, recency and onboarding.

    Args:
        spine: Active accounts per as-of date.
        usage: Validated daily usage; a feature needing a count column the data
            lacks (e.g. ``active_users``) comes out empty and is left out of
            the model, and each count column outside the contract's gets
            features of its own (``docs/features.md``).
        accounts: Validated accounts (signup dates).
        account_features: For the seats in force.
        params: ``feature_engineering`` parameters (key feature columns, engine).

    Returns:
        Spine keys plus usage features.
    """
    start = usage["usage_date"].min()
    return _run(
        params,
        usage_features,
        spine[KEYS],
        usage,
        accounts,
        account_features[[*KEYS, "seats"]],
        dates=_dates(spine),
        key_columns=list(params["key_feature_columns"]),
        history_start=None if pd.isna(start) else pd.Timestamp(start),
    )


def _one_table_node(
    build: Callable[..., Table], table: str, summary: str
) -> Callable[[pd.DataFrame, pd.DataFrame, dict[str, Any]], pd.DataFrame]:
    """A node building one feature group from the spine and one validated table.

    Args:
        build: The feature group's builder (keys, records, ``dates=``).
        table: The validated table it reads, named in the node's docstring.
        summary: First line of the node's docstring.

    Returns:
        The node function ``(spine, records, params) -> features``.
    """

    def node(
        spine: pd.DataFrame, records: pd.DataFrame, params: dict[str, Any]
    ) -> pd.DataFrame:
        return _run(params, build, spine[KEYS], records, dates=_dates(spine))

    node.__name__ = node.__qualname__ = f"build_{build.__name__}"
    node.__doc__ = f"""{summary}

    Args:
        spine: Active accounts per as-of date.
        records: Validated ``{table}``.
        params: ``feature_engineering`` parameters (the engine).

    Returns:
        Spine keys plus the features of :func:`{build.__module__}.{build.__name__}`.
    """
    return node


build_ticket_features = _one_table_node(
    ticket_features,
    "tickets",
    "Support load, backlog, speed, priority and satisfaction.",
)
build_billing_features = _one_table_node(
    billing_features,
    "invoices",
    "Failed payments, retries and the time since the last failure.",
)
build_nps_features = _one_table_node(
    nps_features,
    "nps_responses",
    "The latest NPS answer, its change, the detractor flag and its age.",
)


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
        One row per (account_id, as_of_date): keys, registry features (with
        those of the configured usage columns after the usage ones), label.

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
        table = table.merge(group, on=KEYS, how="left", validate="one_to_one")
    if len(table) != len(spine):
        raise ValueError(f"Joining features changed rows: {len(spine)} -> {len(table)}")
    configured = usage_columns_of(usage_features.columns)
    if configured:
        logger.info("Features of the configured usage columns: %s", list(configured))
    return table[[*KEYS, *feature_names(configured), "label", "is_labelled"]]
