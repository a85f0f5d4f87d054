"""Schemas of the foreign source tables, in their mapped (contract-side) names.

``ingestion.mappings.<table>`` renames an export's columns to these names before
the rules run, exactly as ``data_validation.mappings`` does for the contract's
own tables, so the same rule names and accounting apply.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd
import pandera.pandas as pa

from churn_pipeline.validation.schemas import add_not_after, row_rule

# Each source table and its key, in dependency order (subscriptions first).
SOURCE_TABLES: dict[str, tuple[str, ...]] = {
    "subscriptions": ("subscription_id",),
    "churn_events": ("churn_event_id",),
    "usage_events": ("usage_id",),
}

# Usage events belong to a subscription, or directly to an account.
USAGE_OWNERS = ("subscription_id", "account_id")

SOURCE_DESCRIPTIONS: dict[str, str] = {
    "subscriptions": "Subscription periods: plan, seats and MRR from a start date.",
    "churn_events": "Dated cancellations, some flagged as reactivations.",
    "usage_events": "Product usage, one row per feature event of a subscription.",
}


def _key() -> pa.Column:
    # As in the contract: the first occurrence of a key wins, later ones fail.
    return pa.Column(str, unique=True, report_duplicates="exclude_first", coerce=True)


def _category(values: Sequence[str]) -> pa.Column:
    return pa.Column(str, pa.Check.isin(list(values)), coerce=True)


def _subscriptions(allowed: Mapping[str, Sequence[str]]) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "subscription_id": _key(),
            "account_id": pa.Column(str),
            "start_date": pa.Column("datetime64[ns]"),
            "end_date": pa.Column("datetime64[ns]", nullable=True),
            "plan": _category(allowed["plan"]),
            "seats": pa.Column(int, pa.Check.ge(1)),
            "mrr": pa.Column(float, pa.Check.ge(0)),
            "billing_cycle": _category(allowed["billing_cycle"]),
        },
        checks=[
            row_rule(
                "end_date",
                "end_date on or after start_date",
                lambda df: df["end_date"].isna() | (df["end_date"] >= df["start_date"]),
            )
        ],
        name="subscriptions",
        strict=True,
        coerce=True,
    )


def _churn_events(allowed: Mapping[str, Sequence[str]]) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "churn_event_id": _key(),
            "account_id": pa.Column(str, coerce=True),
            "churn_date": pa.Column("datetime64[ns]", coerce=True),
            "churn_type": _category(allowed["churn_type"]),
            "reason": _category(allowed["churn_reason"]),
            # Checked, never coerced: coercing the text "False" gives True.
            "is_reactivation": pa.Column(
                checks=pa.Check(
                    lambda s: s.map(lambda v: isinstance(v, bool | np.bool_)),
                    name="a boolean (True/False), not text or a number",
                )
            ),
        },
        name="churn_events",
        strict=True,
    )


def _usage_events(owner: str, owner_ids: Collection[str]) -> pa.DataFrameSchema:
    known = pd.Index(list(owner_ids))
    table = "subscriptions" if owner == "subscription_id" else "subscriptions' accounts"
    return pa.DataFrameSchema(
        {
            "usage_id": _key(),
            owner: pa.Column(
                str,
                pa.Check(
                    lambda s: s.isin(known),
                    name=f"foreign key: {owner} exists in {table}",
                ),
            ),
            "usage_date": pa.Column("datetime64[ns]"),
            # Optional: event-level exports may have an event type instead.
            "feature": pa.Column(str, required=False),
        },
        # Further columns (event type, counts) are whatever the aggregations use.
        name="usage_events",
        strict=False,
        coerce=True,
    )


def usage_owner(columns: Collection[str]) -> str:
    """Whom usage events belong to: ``subscription_id`` if given, else ``account_id``.

    Raises:
        ValueError: If the events have neither column.
    """
    for owner in USAGE_OWNERS:
        if owner in columns:
            return owner
    raise ValueError(
        f"Source table 'usage_events' needs one of {list(USAGE_OWNERS)} (map a "
        f"column to it in ingestion.mappings.usage_events.columns); it has "
        f"{sorted(columns)}"
    )


def build_source_schema(
    table: str,
    *,
    allowed_values: Mapping[str, Sequence[str]],
    owner_ids: Collection[str] = (),
    owner_column: str = "subscription_id",
    max_date: pd.Timestamp | None = None,
) -> pa.DataFrameSchema:
    """Build the schema of one source table.

    Args:
        table: One of ``SOURCE_TABLES``.
        allowed_values: Allowed values per categorical field (the contract's).
        owner_ids: Accepted subscriptions, or their accounts (usage events'
            foreign key).
        owner_column: The usage events' foreign key column (``USAGE_OWNERS``).
        max_date: If given, no date column may hold a later value.

    Returns:
        The pandera schema.

    Raises:
        ValueError: If ``table`` is unknown.
    """
    builders = {
        "subscriptions": lambda: _subscriptions(allowed_values),
        "churn_events": lambda: _churn_events(allowed_values),
        "usage_events": lambda: _usage_events(owner_column, owner_ids),
    }
    if table not in builders:
        raise ValueError(
            f"Unknown source table {table!r}; allowed: {sorted(SOURCE_TABLES)}"
        )
    return add_not_after(builders[table](), max_date)
