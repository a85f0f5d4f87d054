"""Nodes that validate foreign source tables and derive contract tables from them.

The source tables are checked by the same machinery and modes as the contract's
(``data_validation.mode``); their accepted rows are reshaped into
``raw_subscription_events``, ``raw_usage`` and ``raw_accounts``, which the
data_validation pipeline then judges like any export. Keys an export lacks are
derived first (ingestion/derived.py); with ``ingestion.churn.source: gap`` the
churn events come from the periods (ingestion/gaps.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Any

import pandas as pd

from churn_pipeline.ingestion import (
    SOURCE_TABLES,
    account_terms,
    build_source_schema,
    daily_usage,
    derive_subscription_events,
)
from churn_pipeline.ingestion.derived import (
    accounts_from_periods,
    with_derived_key,
    with_signup_dates,
)
from churn_pipeline.ingestion.gaps import CHURN_EVENT_COLUMNS, gap_churn_events
from churn_pipeline.ingestion.schemas import usage_owner
from churn_pipeline.validation import (
    ValidationResult,
    resolve_max_date,
    validate_with_schema,
)
from churn_pipeline.validation.mapping import apply_mapping
from churn_pipeline.validation.report import accounting_metrics

logger = logging.getLogger(__name__)

ValidationOutputs = tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]
CASCADE_RULE = "subscription_id: subscription rejected in table 'subscriptions'"


def _mapped(table: str, raw: pd.DataFrame | None, params: dict[str, Any]) -> Any:
    """The export in the source names, its key derived if it has none."""
    if raw is None:
        raise ValueError(
            f"Source table '{table}' is declared absent (AbsentTableDataset), but "
            "the ingestion needs it: give the catalog entry "
            f"source_{table} a file"
        )
    mapping = (params.get("mappings") or {}).get(table) or {}
    data = (apply_mapping(raw, mapping) if mapping else raw).reset_index(drop=True)
    return with_derived_key(table, data)


def _validate_source(
    table: str,
    raw: pd.DataFrame | None,
    params: dict[str, Any],
    validation: dict[str, Any],
    *,
    subscriptions: pd.DataFrame | None = None,
    rejected_subscription_ids: Collection[str] = (),
) -> ValidationOutputs:
    data, derived = _mapped(table, raw, params)
    owner, owner_ids = "", ()
    if subscriptions is not None:
        owner = usage_owner(data.columns)
        owner_ids = tuple(subscriptions[owner].drop_duplicates())
    schema = build_source_schema(
        table,
        allowed_values=validation["allowed_values"],
        owner_ids=owner_ids,
        owner_column=owner or "subscription_id",
        max_date=resolve_max_date(validation.get("max_date")),
    )
    rules: dict[object, list[str]] = {}
    if owner == "subscription_id" and len(rejected_subscription_ids) > 0:
        cascaded = data["subscription_id"].isin(set(rejected_subscription_ids))
        rules = {index: [CASCADE_RULE] for index in data.index[cascaded]}
    result: ValidationResult = validate_with_schema(
        table,
        data,
        schema,
        key=SOURCE_TABLES[table],
        mode=validation["mode"],
        rules=rules,
    )
    counts = result.counts()
    if derived:
        counts["derived"] = {SOURCE_TABLES[table][0]: derived}
    return result.accepted, result.rejected, counts


def source_table_validator(table: str) -> Callable[..., ValidationOutputs]:
    """The node function validating a source table with no foreign key.

    Args:
        table: ``subscriptions``.

    Returns:
        ``validate_<table>(raw, params, validation)``: the export, the
        ``ingestion`` parameters (``mappings.<table>``) and the ``data_validation``
        ones (mode, allowed values, max date) give the accepted rows, the
        rejected ones with their rules and the row accounting.
    """

    # A plain function, not a partial: Kedro reads its name and type hints.
    def validator(
        raw: pd.DataFrame, params: dict[str, Any], validation: dict[str, Any]
    ) -> ValidationOutputs:
        return _validate_source(table, raw, params, validation)

    validator.__name__ = validator.__qualname__ = f"validate_{table}"
    return validator


def validate_churn_events(
    raw: pd.DataFrame | None, params: dict[str, Any], validation: dict[str, Any]
) -> ValidationOutputs:
    """Validate the churn events, unless churn comes from gaps.

    Args:
        raw: The exported churn events (``None``: declared absent).
        params: ``ingestion`` parameters (``churn.source``, ``mappings``).
        validation: ``data_validation`` parameters.

    Returns:
        Accepted events, rejected ones with their rules, row accounting; with
        ``churn.source: gap`` no events, and the table counted as not used.

    Raises:
        ValueError: If the table is absent while churn comes from it.
    """
    source = (params.get("churn") or {}).get("source", "events")
    if source == "events" and raw is None:
        raise ValueError(
            "Source table 'churn_events' is declared absent, but "
            "ingestion.churn.source is 'events' (churn read from that table); "
            "set ingestion.churn.source: gap to derive churn from the subscription "
            "periods, or give source_churn_events a file"
        )
    if source == "events":
        return _validate_source("churn_events", raw, params, validation)
    if raw is not None:
        logger.info(
            "ingestion.churn.source is 'gap': the %d source churn events are "
            "ignored; churn is derived from the subscription periods",
            len(raw),
        )
    empty = pd.DataFrame(columns=list(CHURN_EVENT_COLUMNS))
    counts = ValidationResult("churn_events", empty, empty.copy()).counts()
    counts.update(present=raw is not None, ignored=True)
    return empty, empty.copy(), counts


def validate_usage_events(
    raw: pd.DataFrame,
    subscriptions: pd.DataFrame,
    rejected_subscriptions: pd.DataFrame,
    params: dict[str, Any],
    validation: dict[str, Any],
) -> ValidationOutputs:
    """Validate usage events; events of rejected subscriptions cascade.

    Events belong to a subscription (``subscription_id``) or, when the export
    has none, directly to an account (``account_id``) of an accepted period.

    Args:
        raw: The exported usage events.
        subscriptions: Accepted periods (foreign key).
        rejected_subscriptions: Rejected periods (their events cascade).
        params: ``ingestion`` parameters (``mappings.usage_events``).
        validation: ``data_validation`` parameters.

    Returns:
        Accepted events, rejected ones with their rules, row accounting.
    """
    rejected_ids = (
        tuple(rejected_subscriptions["subscription_id"].dropna())
        if "subscription_id" in rejected_subscriptions.columns
        else ()
    )
    return _validate_source(
        "usage_events",
        raw,
        params,
        validation,
        subscriptions=subscriptions,
        rejected_subscription_ids=rejected_ids,
    )


def derive_events(
    subscriptions: pd.DataFrame,
    churn_events: pd.DataFrame,
    params: dict[str, Any],
    validation: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Derive the contract's subscription events from periods and churn events.

    Args:
        subscriptions: Accepted periods.
        churn_events: Accepted churn events (none when churn comes from gaps).
        params: ``ingestion`` parameters (``churn``).
        validation: ``data_validation`` parameters (the order of plans, the
            end of the data).

    Returns:
        ``raw_subscription_events`` and how each source row was used (with
        ``churn.source: gap`` also the gap accounting, ``gap_*``).
    """
    churn = params.get("churn") or {}
    gap_counts: dict[str, int] = {}
    if churn.get("source", "events") == "gap":
        _check_churn_labels(churn, validation["allowed_values"])
        churn_events, gap_counts = gap_churn_events(
            subscriptions,
            gap_days=churn.get("gap_days", 30),
            data_end=_data_end(subscriptions, validation),
            churn_type=churn.get("churn_type", "voluntary"),
            reason=churn.get("reason", "other"),
            term_days=churn.get("term_days"),
        )
    events, used = derive_subscription_events(
        subscriptions,
        churn_events,
        plan_order=validation["allowed_values"]["plan"],
    )
    return events, {**used, **gap_counts}


def _check_churn_labels(churn: dict[str, Any], allowed: dict[str, Any]) -> None:
    """Refuse a derived churn type or reason the contract would reject."""
    for key, field in (("churn_type", "churn_type"), ("reason", "churn_reason")):
        value = churn.get(key, "voluntary" if key == "churn_type" else "other")
        if value not in allowed[field]:
            raise ValueError(
                f"ingestion.churn.{key} is {value!r}, which "
                f"data_validation.allowed_values.{field} does not allow; "
                f"allowed: {list(allowed[field])}"
            )


def _data_end(subscriptions: pd.DataFrame, validation: dict[str, Any]) -> pd.Timestamp:
    """``data_validation.max_date`` if set, else the periods' last date."""
    if validation.get("max_date"):
        return resolve_max_date(validation["max_date"])
    dates = pd.concat([subscriptions["start_date"], subscriptions["end_date"]])
    return pd.Timestamp(dates.max())


def derive_usage(
    usage_events: pd.DataFrame, subscriptions: pd.DataFrame, params: dict[str, Any]
) -> pd.DataFrame:
    """Summarise usage events into the contract's daily usage table.

    Args:
        usage_events: Accepted usage events.
        subscriptions: Accepted periods (which account a subscription is).
        params: ``ingestion`` parameters (``usage_aggregations``).

    Returns:
        ``raw_usage``: one row per account and day.
    """
    return daily_usage(usage_events, subscriptions, params["usage_aggregations"])


def complete_accounts(
    accounts: pd.DataFrame | None,
    subscriptions: pd.DataFrame,
    validation: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Give each source account its MRR and billing cycle at signup.

    An absent accounts table is derived from the periods; accounts without a
    signup date (in the export or mapped to it) get their first period's start.

    Args:
        accounts: The exported accounts (``None``: declared absent).
        subscriptions: Accepted periods (the first one sets the terms).
        validation: ``data_validation`` parameters (``mappings.accounts``).

    Returns:
        ``raw_accounts``, still in the export's names (mapped in
        data_validation), and the rows derived: ``accounts_from_periods``,
        ``accounts_signup_date``.
    """
    if accounts is None:
        derived = accounts_from_periods(subscriptions)
        return derived, {"accounts_from_periods": len(derived)}
    mapping = (validation.get("mappings") or {}).get("accounts") or {}
    named = set(accounts.columns) | set((mapping.get("columns") or {}).values())
    completed = account_terms(accounts, subscriptions)
    if "signup_date" in named:
        return completed, {}
    completed, count = with_signup_dates(completed, subscriptions)
    return completed, {"accounts_signup_date": count}


def summarise_ingestion(
    derivation: dict[str, int], accounts: dict[str, int], *counts: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """Collect the source tables' accounting and how their rows were used.

    Args:
        derivation: How periods and churn events became contract events.
        accounts: Accounts or signup dates derived from the periods.
        *counts: ``ValidationResult.counts()`` of each source table (with
            ``derived``: keys derived per column, if any).

    Returns:
        The report (logged as a JSON artifact) and the same numbers as MLflow
        metrics ``source_<table>_rows_*``, ``source_<table>_rejected_<rule>``,
        ``source_derived_<use>`` and ``source_<table>_derived_<column>``.
    """
    tables = {c["table"]: c for c in counts}
    for table in tables.values():
        logger.info(
            "Source table '%s': %d rows in, %d accepted, %d rejected%s",
            table["table"],
            table["rows_in"],
            table["rows_accepted"],
            table["rows_rejected"],
            " (ignored: churn from gaps)" if table.get("ignored") else "",
        )
    metrics = accounting_metrics(tables, "source")
    metrics.update({f"source_derived_{k}": float(v) for k, v in derivation.items()})
    filled = {
        f"{name}.{column}": rows
        for name, table in tables.items()
        for column, rows in (table.get("derived") or {}).items()
    }
    filled.update({k.replace("_", ".", 1): v for k, v in accounts.items()})
    metrics.update(
        {f"source_{k.replace('.', '_derived_')}": float(v) for k, v in filled.items()}
    )
    report = {"tables": tables, "derived": dict(derivation), "filled": filled}
    return report, {
        name: {"value": value, "step": 0} for name, value in metrics.items()
    }
