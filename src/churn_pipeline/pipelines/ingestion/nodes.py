"""Nodes that validate foreign source tables and derive contract tables from them.

The source tables are checked by the same machinery and modes as the contract's
(``data_validation.mode``); their accepted rows are reshaped into
``raw_subscription_events``, ``raw_usage`` and ``raw_accounts``, which the
data_validation pipeline then judges like any export.
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


def _validate_source(
    table: str,
    raw: pd.DataFrame,
    params: dict[str, Any],
    validation: dict[str, Any],
    *,
    subscription_ids: Collection[str] = (),
    rejected_subscription_ids: Collection[str] = (),
) -> ValidationOutputs:
    mapping = (params.get("mappings") or {}).get(table) or {}
    data = (apply_mapping(raw, mapping) if mapping else raw).reset_index(drop=True)
    schema = build_source_schema(
        table,
        allowed_values=validation["allowed_values"],
        subscription_ids=subscription_ids,
        max_date=resolve_max_date(validation.get("max_date")),
    )
    rules: dict[object, list[str]] = {}
    if len(rejected_subscription_ids) > 0:
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
    return result.accepted, result.rejected, result.counts()


def source_table_validator(table: str) -> Callable[..., ValidationOutputs]:
    """The node function validating a source table with no foreign key.

    Args:
        table: ``subscriptions`` or ``churn_events``.

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


def validate_usage_events(
    raw: pd.DataFrame,
    subscriptions: pd.DataFrame,
    rejected_subscriptions: pd.DataFrame,
    params: dict[str, Any],
    validation: dict[str, Any],
) -> ValidationOutputs:
    """Validate usage events; events of rejected subscriptions cascade.

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
        subscription_ids=tuple(subscriptions["subscription_id"]),
        rejected_subscription_ids=rejected_ids,
    )


def derive_events(
    subscriptions: pd.DataFrame,
    churn_events: pd.DataFrame,
    validation: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Derive the contract's subscription events from periods and churn events.

    Args:
        subscriptions: Accepted periods.
        churn_events: Accepted churn events.
        validation: ``data_validation`` parameters (the order of plans).

    Returns:
        ``raw_subscription_events`` and how each source row was used.
    """
    return derive_subscription_events(
        subscriptions,
        churn_events,
        plan_order=validation["allowed_values"]["plan"],
    )


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
    accounts: pd.DataFrame, subscriptions: pd.DataFrame
) -> pd.DataFrame:
    """Give each source account its MRR and billing cycle at signup.

    Args:
        accounts: The exported accounts.
        subscriptions: Accepted periods (the first one sets the terms).

    Returns:
        ``raw_accounts``, still in the export's names (mapped in data_validation).
    """
    return account_terms(accounts, subscriptions)


def summarise_ingestion(
    derivation: dict[str, int], *counts: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """Collect the source tables' accounting and how their rows were used.

    Args:
        derivation: How periods and churn events became contract events.
        *counts: ``ValidationResult.counts()`` of each source table.

    Returns:
        The report (logged as a JSON artifact) and the same numbers as MLflow
        metrics ``source_<table>_rows_*``, ``source_<table>_rejected_<rule>``
        and ``source_derived_<use>``.
    """
    tables = {c["table"]: c for c in counts}
    for table in tables.values():
        logger.info(
            "Source table '%s': %d rows in, %d accepted, %d rejected",
            table["table"],
            table["rows_in"],
            table["rows_accepted"],
            table["rows_rejected"],
        )
    metrics = accounting_metrics(tables, "source")
    metrics.update({f"source_derived_{k}": float(v) for k, v in derivation.items()})
    report = {"tables": tables, "derived": dict(derivation)}
    return report, {
        name: {"value": value, "step": 0} for name, value in metrics.items()
    }
