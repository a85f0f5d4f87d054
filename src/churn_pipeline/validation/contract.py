"""The raw-data contract in words, rendered from the pandera schemas.

``docs/data_contract.md`` embeds :func:`render_contract`'s output between two
markers; a test fails when the schemas and the document disagree. Regenerate with
``python -m churn_pipeline.validation.contract --write docs/data_contract.md``.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import yaml

from churn_pipeline.ingestion.schemas import (
    SOURCE_DESCRIPTIONS,
    SOURCE_TABLES,
    build_source_schema,
)
from churn_pipeline.reporting.generated import embed
from churn_pipeline.validation.report import RULE_SEPARATOR
from churn_pipeline.validation.schemas import RAW_TABLES, REQUIRED_TABLES, build_schema

logger = logging.getLogger(__name__)

BLOCK = "CONTRACT"

TABLE_DESCRIPTIONS: dict[str, str] = {
    "accounts": "One row per customer account, as it was at signup.",
    "subscription_events": "Plan changes and cancellations, one row per event.",
    "usage": "Product usage per account and active day (no row = no activity).",
    "tickets": "Support tickets.",
    "invoices": "Invoices and whether collecting them succeeded.",
    "nps_responses": "Net Promoter Score survey answers.",
}

COLUMN_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "accounts": {
        "account_id": "Your identifier of the account.",
        "signup_date": "Day the subscription started.",
        "plan": "Plan at signup.",
        "seats": "Paid seats at signup.",
        "mrr": "Monthly recurring revenue at signup.",
        "billing_cycle": "How often the account is invoiced.",
        "industry": "Industry of the customer.",
        "country": "Country of the customer (ISO 3166-1 alpha-2).",
        "acquisition_channel": "How the account was acquired.",
        "discount_pct": "Discount on list price, as a fraction (0.1 = 10 %).",
    },
    "subscription_events": {
        "event_id": "Identifier of the event.",
        "account_id": "The account (must exist in accounts).",
        "event_date": "Day the change took effect.",
        "event_type": "What happened.",
        "plan": "Plan after the event (the plan left, for a cancellation).",
        "seats": "Seats after the event (seats left, for a cancellation).",
        "mrr": "MRR after the event (0 for a cancellation).",
        "churn_type": "For cancellations only: voluntary or involuntary (payment).",
        "reason": "For cancellations only: why the customer left.",
    },
    "usage": {
        "account_id": "The account (must exist in accounts).",
        "usage_date": "The day.",
        "logins": "Logins that day.",
        "active_users": "Distinct users active that day.",
        "uses_reports": "Uses of the reports feature that day.",
        "uses_dashboards": "Uses of the dashboards feature that day.",
        "uses_integrations": "Uses of the integrations feature that day.",
        "uses_automations": "Uses of the automations feature that day.",
    },
    "tickets": {
        "ticket_id": "Identifier of the ticket.",
        "account_id": "The account (must exist in accounts).",
        "opened_at": "When the ticket was opened.",
        "closed_at": "When it was closed; empty while still open.",
        "priority": "Priority given by support.",
        "satisfaction": "Customer satisfaction 1-5, only for closed tickets.",
    },
    "invoices": {
        "invoice_id": "Identifier of the invoice.",
        "account_id": "The account (must exist in accounts).",
        "invoice_date": "Day the invoice was issued.",
        "amount": "Amount invoiced.",
        "status": "Final collection status after all attempts.",
        "attempts": "Charge attempts made (retries included).",
    },
    "nps_responses": {
        "response_id": "Identifier of the answer.",
        "account_id": "The account (must exist in accounts).",
        "response_date": "Day of the answer.",
        "score": "Score 0-10 (below 7 = detractor).",
    },
}


SOURCE_COLUMN_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "subscriptions": {
        "subscription_id": "Identifier of the period.",
        "account_id": "The account.",
        "start_date": "Day the period starts.",
        "end_date": "Day it ends; empty while open (not read as churn).",
        "plan": "Plan in the period.",
        "seats": "Paid seats in the period.",
        "mrr": "Monthly recurring revenue in the period.",
        "billing_cycle": "How often the period is invoiced.",
    },
    "churn_events": {
        "churn_event_id": "Identifier of the churn event.",
        "account_id": "The account.",
        "churn_date": "Day the account left (or came back, if flagged).",
        "churn_type": "Voluntary or involuntary (payment).",
        "reason": "Why the customer left.",
        "is_reactivation": "True when the event records a return, not churn.",
    },
    "usage_events": {
        "usage_id": "Identifier of the usage event.",
        "subscription_id": "The subscription (must exist in subscriptions).",
        "usage_date": "When it happened (the day counts).",
        "feature": "Which product feature was used.",
    },
}


def _dtype(column: pa.Column) -> str:
    names = {
        "int64": "integer",
        "float64": "number",
        "str": "text",
        "object": "text",
        "None": "any (see rules)",
    }
    raw = str(column.dtype)
    return "date / timestamp" if raw.startswith("datetime") else names.get(raw, raw)


def _column_rules(column: pa.Column) -> list[str]:
    # Built-in checks carry their arguments in ``error``: "isin([...])".
    rules = [str(check.error or check.name) for check in column.checks]
    if column.unique:
        rules.insert(0, "unique (first occurrence wins)")
    return rules


def _row_rules(schema: pa.DataFrameSchema) -> dict[str, list[str]]:
    rules: dict[str, list[str]] = {}
    for check in schema.checks:
        column, _, rule = str(check.name).partition(RULE_SEPARATOR)
        rules.setdefault(column, []).append(rule)
    return rules


def render_contract(
    allowed_values: Mapping[str, Sequence[str]], usage_columns: Sequence[str]
) -> str:
    """Markdown describing every raw table of the contract and every source table.

    Args:
        allowed_values: Allowed values per categorical field (parameters).
        usage_columns: Count columns of the usage table (parameters).

    Returns:
        One section per table: whether it is required, its key, and a row per
        column with type, whether empty values are allowed, rules and meaning.
    """
    accounts = pd.DataFrame(
        {"account_id": pd.Series(dtype=str), "signup_date": pd.Series(dtype="M8[ns]")}
    )
    sections = []
    for table, key in RAW_TABLES.items():
        schema = build_schema(
            table,
            allowed_values=allowed_values,
            usage_columns=usage_columns,
            accounts=None if table == "accounts" else accounts,
        )
        need = "required" if table in REQUIRED_TABLES else "optional"
        sections.append(
            _render_table(
                f"### `{table}` ({need})",
                TABLE_DESCRIPTIONS[table],
                key,
                schema,
                COLUMN_DESCRIPTIONS[table],
            )
        )
    sections.append(
        "### Source tables of another shape (`input_kind: subscription_periods`)\n\n"
        "Read by the ingestion pipeline, after `ingestion.mappings`, and reshaped "
        "into `accounts`' terms, `subscription_events` and `usage`. Ids an export "
        "lacks (`subscription_id`, `churn_event_id`, `usage_id`) are derived, and so "
        "is an account's `signup_date` (its first period's start) or the whole "
        "accounts table; usage events may name their `account_id` instead of a "
        "`subscription_id`; with `ingestion.churn.source: gap` churn comes from the "
        "periods and no churn events are needed (see *Churn from gaps* above)."
    )
    for table, key in SOURCE_TABLES.items():
        schema = build_source_schema(table, allowed_values=allowed_values)
        sections.append(
            _render_table(
                f"#### `{table}` (source)",
                SOURCE_DESCRIPTIONS[table],
                key,
                schema,
                SOURCE_COLUMN_DESCRIPTIONS[table],
            )
        )
    return "\n\n".join(sections) + "\n"


def _render_table(
    title: str,
    description: str,
    key: Sequence[str],
    schema: pa.DataFrameSchema,
    meanings: Mapping[str, str],
) -> str:
    row_rules = _row_rules(schema)
    lines = [
        title,
        "",
        description,
        f"Key: `{'`, `'.join(key)}` (unique).",
        "",
        "| column | type | empty allowed | rules | meaning |",
        "|---|---|---|---|---|",
    ]
    for name, column in schema.columns.items():
        rules = _column_rules(column) + row_rules.get(name, [])
        text = "; ".join(f"`{r}`" for r in rules) or "-"
        nullable = "yes" if column.nullable else "no"
        lines.append(
            f"| `{name}` | {_dtype(column)} | {nullable} | {text} | "
            f"{meanings.get(name, '')} |"
        )
    if not schema.strict:
        lines.append("")
        lines.append("Further columns pass through for the usage aggregations.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Rewrite the generated block of the contract document from the schemas."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, required=True, help="markdown file")
    parser.add_argument(
        "--params",
        type=Path,
        default=Path("conf/base/parameters_data_validation.yml"),
        help="data_validation parameters",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    params = yaml.safe_load(args.params.read_text())["data_validation"]
    contract = render_contract(params["allowed_values"], params["usage_columns"])
    args.write.write_text(embed(args.write.read_text(), contract, BLOCK))
    logger.info("Wrote the contract of %d tables to %s", len(RAW_TABLES), args.write)


if __name__ == "__main__":
    main()
