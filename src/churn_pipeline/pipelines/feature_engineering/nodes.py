"""Point-in-time feature and label nodes.

Each node reads its validated inputs with the configured engine
(``feature_engineering.engine``: DuckDB in-process by default, or Spark),
builds one feature group with :mod:`churn_pipeline.features` and returns it as
an Ibis expression ordered by the keys: the catalog's ``ParquetTableDataset``
has that engine write it straight to a file, so neither the activity tables
(usage, tickets, invoices, NPS answers, handed in as files) nor the feature
tables pass through pandas. Every feature at as-of date ``t`` uses only records
known by the end of day ``t``; the label is 1 when a cancellation falls in
``(t, t + horizon_days]``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pandas as pd
from ibis.backends import BaseBackend
from ibis.expr.types import Table

from churn_pipeline.datasets.parquet_table import TableData
from churn_pipeline.features import engine, feature_names
from churn_pipeline.features.account import account_features
from churn_pipeline.features.billing import billing_features
from churn_pipeline.features.build import DATE_COLUMNS, date_bound, timeline
from churn_pipeline.features.nps import nps_features
from churn_pipeline.features.pit import KEYS
from churn_pipeline.features.specs import usage_columns_of
from churn_pipeline.features.spine import spine
from churn_pipeline.features.tickets import ticket_features
from churn_pipeline.features.usage import usage_features

logger = logging.getLogger(__name__)

# What a node reads: rows in memory, a file, or an earlier node's expression
# (an in-memory catalog hands those on).
Input = TableData | Table


def _dates(con: BaseBackend, rows: Table) -> list[pd.Timestamp]:
    """The spine's as-of dates, oldest first (a handful: one per month)."""
    dates = con.execute(rows.select("as_of_date").distinct())["as_of_date"]
    return [pd.Timestamp(d) for d in sorted(dates)]


def _dates_of(data: Input, column: str, con: BaseBackend) -> Table:
    """Only ``column`` of a table: a frame is cut before Arrow conversion."""
    if isinstance(data, pd.DataFrame):
        return engine.table(data[[column]], con)
    return engine.table(data, con).select(column)


def _keys(con: BaseBackend, spine_rows: Input) -> tuple[Table, list[pd.Timestamp]]:
    """The spine's keys as a table on ``con`` and its as-of dates."""
    rows = engine.table(spine_rows, con).select(*KEYS)
    return rows, _dates(con, rows)


def _output(con: BaseBackend, result: Table) -> Table:
    """``result`` as the file will hold it: declared types, ordered by the keys.

    The order makes a fixed seed write the same file.
    """
    return engine.with_declared_types(con, result).order_by(KEYS)


def _group(con: BaseBackend, build: Callable[..., Table], result: Table) -> Table:
    """A feature group's output (its rows are the spine's: no count query)."""
    logger.info("%s: %d columns", build.__name__, len(result.columns))
    return _output(con, result)


def build_spine(
    accounts: Input,
    subscription_events: Input,
    usage: Input,
    invoices: Input,
    params: dict[str, Any],
) -> Table:
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
        One row per (account_id, as_of_date) with ``label`` (null when the
        horizon reaches past the observation end) and ``is_labelled``.
    """
    con = engine.connect_configured(params)
    tables = {
        "accounts": engine.table(accounts, con),
        "subscription_events": engine.table(subscription_events, con),
        # Only their dates place the timeline, read by the engine.
        "usage": _dates_of(usage, DATE_COLUMNS["usage"], con),
        "invoices": _dates_of(invoices, DATE_COLUMNS["invoices"], con),
    }
    placed = timeline(
        con,
        tables,
        observation_end=params.get("observation_end"),
        min_history_days=params["min_history_days"],
        max_snapshots=params["max_snapshots"],
    )
    rows = spine(
        tables["accounts"],
        tables["subscription_events"],
        placed.dates,
        horizon_days=params["horizon_days"],
        observation_end=placed.observation_end,
        label_delay_days=params.get("label_delay_days", 0),
    )
    counts = con.execute(
        rows.aggregate(
            n=rows.count(),
            labelled=rows["is_labelled"].sum(),
            rate=rows["label"].mean(),
        )
    ).iloc[0]
    logger.info(
        "Spine: %d snapshots of %d as-of dates (%s .. %s), %d labelled rows, "
        "churn rate %.2f%%",
        counts["n"],
        len(placed.dates),
        placed.dates[0].date(),
        placed.dates[-1].date(),
        0 if pd.isna(counts["labelled"]) else int(counts["labelled"]),
        100 * float("nan" if pd.isna(counts["rate"]) else counts["rate"]),
    )
    return _output(con, rows)


def build_account_features(
    spine: Input,
    accounts: Input,
    subscription_events: Input,
    params: dict[str, Any],
) -> Table:
    """Tenure and the plan, seats and MRR in force at each as-of date.

    Args:
        spine: Active accounts per as-of date.
        accounts: Validated accounts (terms at signup).
        subscription_events: Validated plan changes.
        params: ``feature_engineering`` parameters (the engine).

    Returns:
        Spine keys plus tenure, plan, billing and firmographic features.
    """
    con = engine.connect_configured(params)
    rows, dates = _keys(con, spine)
    result = account_features(
        rows,
        engine.table(accounts, con),
        engine.table(subscription_events, con),
        dates,
    )
    return _group(con, account_features, result)


def build_usage_features(
    spine: Input,
    usage: Input,
    accounts: Input,
    account_features: Input,
    params: dict[str, Any],
) -> Table:
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
    con = engine.connect_configured(params)
    rows, dates = _keys(con, spine)
    records = engine.table(usage, con)
    result = usage_features(
        rows,
        records,
        engine.table(accounts, con),
        engine.table(account_features, con).select(*KEYS, "seats"),
        dates,
        key_columns=list(params["key_feature_columns"]),
        history_start=date_bound(con, records, DATE_COLUMNS["usage"], "min"),
    )
    return _group(con, usage_features, result)


def _one_table_node(
    build: Callable[..., Table], table: str, summary: str
) -> Callable[[Input, Input, dict[str, Any]], Table]:
    """A node building one feature group from the spine and one validated table.

    Args:
        build: The feature group's builder (keys, records, ``dates=``).
        table: The validated table it reads, named in the node's docstring.
        summary: First line of the node's docstring.

    Returns:
        The node function ``(spine, records, params) -> features``.
    """

    def node(spine: Input, records: Input, params: dict[str, Any]) -> Table:
        con = engine.connect_configured(params)
        rows, dates = _keys(con, spine)
        result = build(rows, engine.table(records, con), dates=dates)
        return _group(con, build, result)

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
    spine: Input,
    account_features: Input,
    usage_features: Input,
    ticket_features: Input,
    billing_features: Input,
    nps_features: Input,
    params: dict[str, Any],
) -> Table:
    """Join the feature groups onto the spine in the engine: the model input table.

    Args:
        spine: Active accounts per as-of date with labels.
        account_features: Tenure, plan and firmographics.
        usage_features: Usage features.
        ticket_features: Support-ticket features.
        billing_features: Billing features.
        nps_features: NPS features.
        params: ``feature_engineering`` parameters (the engine).

    Returns:
        One row per (account_id, as_of_date), ordered by them: keys, registry
        features (with those of the configured usage columns after the usage
        ones), label.

    Raises:
        ValueError: If a feature group lost or duplicated rows.
    """
    con = engine.connect_configured(params)
    rows = engine.table(spine, con)
    groups = [
        engine.table(group, con)
        for group in (
            account_features,
            usage_features,
            ticket_features,
            billing_features,
            nps_features,
        )
    ]
    table = rows
    for group in groups:
        table = table.left_join(group, KEYS)
    configured = usage_columns_of(groups[1].columns)
    # Left joins keep each group's own keys as *_right; keep the spine's.
    table = table.select(*KEYS, *feature_names(configured), "label", "is_labelled")
    before, after = con.execute(rows.count()), con.execute(table.count())
    if before != after:
        raise ValueError(
            f"Joining features changed the model_input_table rows: spine "
            f"{before} -> {after} (a feature group repeats account_id, as_of_date)"
        )
    if configured:
        logger.info("Features of the configured usage columns: %s", list(configured))
    return _output(con, table)
