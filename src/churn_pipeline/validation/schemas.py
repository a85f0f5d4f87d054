"""One pandera schema per raw table: the raw-data contract in code.

Allowed category values come from ``parameters_data_validation.yml`` so a team can
bring its own plans or channels without touching code. Foreign keys and date order
against the account's signup are checked with the already-validated accounts table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd
import pandera.pandas as pa

from churn_pipeline.validation.lifecycle import (
    CANCELLATION,
    LIFECYCLE_EVENTS,
    cancelled_at,
    out_of_sequence,
)
from churn_pipeline.validation.report import RULE_SEPARATOR

# Each raw table and its primary key, in dependency order (accounts first).
RAW_TABLES: dict[str, tuple[str, ...]] = {
    "accounts": ("account_id",),
    "subscription_events": ("event_id",),
    "usage": ("account_id", "usage_date"),
    "tickets": ("ticket_id",),
    "invoices": ("invoice_id",),
    "nps_responses": ("response_id",),
}

# The rest may be declared absent (``AbsentTableDataset``): no features from them.
REQUIRED_TABLES = frozenset({"accounts", "subscription_events"})

RowRule = Callable[[pd.DataFrame], pd.Series]

# Rule names shared with the engine path (validation/engine_rules.py), which
# implements each by name: a rule added here without an engine version fails
# there loudly instead of drifting.
FOREIGN_KEY_RULE = "foreign key: account_id exists in accounts"
CLOSED_AFTER_OPENED_RULE = "closed_at after opened_at"
SATISFACTION_CLOSED_RULE = "satisfaction only on closed tickets"


def signup_rule(column: str) -> str:
    """Name of the rule "``column`` is not before the account's signup"."""
    return f"{column} >= account signup_date"


def not_after_rule(limit: pd.Timestamp) -> str:
    """Name of the rule "no date after ``limit`` (the data's last day)"."""
    return f"not after the data's end ({pd.Timestamp(limit).date()})"


def row_rule(column: str, rule: str, predicate: RowRule) -> pa.Check:
    """A check over whole rows, reported against ``column`` under the name ``rule``."""
    # No ``error=``: pandera then reports the name, which the report splits back.
    return pa.Check(predicate, name=f"{column}{RULE_SEPARATOR}{rule}")


def _key() -> pa.Column:
    # Only later duplicates fail, so in quarantine mode the first occurrence wins.
    return pa.Column(str, unique=True, report_duplicates="exclude_first")


def _category(values: Sequence[str], *, nullable: bool = False) -> pa.Column:
    return pa.Column(str, pa.Check.isin(list(values)), nullable=nullable)


def _references_account(account_ids: pd.Index) -> pa.Column:
    return pa.Column(
        str,
        pa.Check(
            lambda s: s.isin(account_ids),
            name=FOREIGN_KEY_RULE,
        ),
    )


def _on_or_after_signup(column: str, signup_dates: pd.Series) -> pa.Check:
    """Dates in ``column`` are not before the account's signup (indexed by id)."""
    return row_rule(
        column,
        signup_rule(column),
        lambda df: (
            df[column].isna()
            | ~df["account_id"].isin(signup_dates.index)
            | (df[column] >= df["account_id"].map(signup_dates))
        ),
    )


def _account_records(
    name: str,
    signup: pd.Series,
    date_column: str,
    columns: Mapping[str, pa.Column],
    *,
    key: str | None = None,
    checks: Sequence[pa.Check] = (),
    **options: object,
) -> pa.DataFrameSchema:
    """Schema of a table of dated records of known accounts, none before signup.

    Columns in order: ``key`` (if any), ``account_id``, ``date_column``, then
    ``columns``; ``options`` go to :class:`pandera.DataFrameSchema`.
    """
    keys = {key: _key()} if key else {}
    return pa.DataFrameSchema(
        {
            **keys,
            "account_id": _references_account(signup.index),
            date_column: pa.Column("datetime64[ns]"),
            **columns,
        },
        checks=[_on_or_after_signup(date_column, signup), *checks],
        name=name,
        strict=True,
        coerce=True,
        **options,
    )


def _plan_change_while_cancelled(events: pd.DataFrame) -> pd.Series:
    """Plan changes dated after a cancellation and before any reactivation."""
    in_sequence = events[~out_of_sequence(events)]
    is_change = ~events["event_type"].isin(LIFECYCLE_EVENTS)
    changes = events[is_change]
    # Changes on the day of a cancellation or a reactivation are allowed: only a
    # change on a day the account is cancelled from start to end is flagged.
    cancelled = [
        cancelled_at(
            in_sequence,
            changes["account_id"],
            changes["event_date"],
            inclusive=inclusive,
        )
        for inclusive in (False, True)
    ]
    # Cancelled before and after the day can still hide an active stretch within
    # it (reactivated, changed plan, cancelled again): any lifecycle event that
    # day means the account was not cancelled from start to end.
    lifecycle = in_sequence[in_sequence["event_type"].isin(LIFECYCLE_EVENTS)]
    lifecycle_days = pd.MultiIndex.from_frame(lifecycle[["account_id", "event_date"]])
    same_day = pd.MultiIndex.from_frame(changes[["account_id", "event_date"]]).isin(
        lifecycle_days
    )
    cancelled = cancelled[0] & cancelled[1] & ~same_day
    flagged = pd.Series(False, index=events.index)
    flagged[changes.index] = cancelled
    return flagged


def _accounts_schema(allowed: Mapping[str, Sequence[str]]) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "account_id": _key(),
            "signup_date": pa.Column("datetime64[ns]"),
            "plan": _category(allowed["plan"]),
            "seats": pa.Column(int, pa.Check.ge(1)),
            "mrr": pa.Column(float, pa.Check.ge(0)),
            "billing_cycle": _category(allowed["billing_cycle"]),
            "industry": _category(allowed["industry"]),
            "country": _category(allowed["country"]),
            "acquisition_channel": _category(allowed["acquisition_channel"]),
            "discount_pct": pa.Column(float, pa.Check.in_range(0, 1)),
        },
        name="accounts",
        strict=True,
        coerce=True,
    )


def _subscription_events_schema(
    allowed: Mapping[str, Sequence[str]], signup: pd.Series
) -> pa.DataFrameSchema:
    is_cancel = CANCELLATION
    return _account_records(
        "subscription_events",
        signup,
        "event_date",
        {
            "event_type": _category(allowed["event_type"]),
            "plan": _category(allowed["plan"]),
            "seats": pa.Column(int, pa.Check.ge(1)),
            "mrr": pa.Column(float, pa.Check.ge(0)),
            "churn_type": _category(allowed["churn_type"], nullable=True),
            "reason": _category(allowed["churn_reason"], nullable=True),
        },
        key="event_id",
        checks=[
            row_rule(
                "churn_type",
                "churn_type and reason set exactly for cancellations",
                lambda df: (
                    ((df["event_type"] == is_cancel) == df["churn_type"].notna())
                    & ((df["event_type"] == is_cancel) == df["reason"].notna())
                ),
            ),
            row_rule(
                "event_type",
                "cancellations and reactivations alternate",
                lambda df: ~out_of_sequence(df),
            ),
            row_rule(
                "event_date",
                "no plan change while cancelled",
                lambda df: ~_plan_change_while_cancelled(df),
            ),
        ],
    )


def _usage_schema(
    usage_columns: Sequence[str], signup: pd.Series
) -> pa.DataFrameSchema:
    counts = {column: pa.Column(int, pa.Check.ge(0)) for column in usage_columns}
    return _account_records(
        "usage",
        signup,
        "usage_date",
        counts,
        unique=["account_id", "usage_date"],
        report_duplicates="exclude_first",
    )


def _tickets_schema(
    allowed: Mapping[str, Sequence[str]], signup: pd.Series
) -> pa.DataFrameSchema:
    return _account_records(
        "tickets",
        signup,
        "opened_at",
        {
            "closed_at": pa.Column("datetime64[ns]", nullable=True),
            "priority": _category(allowed["priority"]),
            "satisfaction": pa.Column(float, pa.Check.in_range(1, 5), nullable=True),
        },
        key="ticket_id",
        checks=[
            row_rule(
                "closed_at",
                CLOSED_AFTER_OPENED_RULE,
                lambda df: df["closed_at"].isna() | (df["closed_at"] > df["opened_at"]),
            ),
            row_rule(
                "satisfaction",
                SATISFACTION_CLOSED_RULE,
                lambda df: df["satisfaction"].isna() | df["closed_at"].notna(),
            ),
        ],
    )


def _invoices_schema(
    allowed: Mapping[str, Sequence[str]], signup: pd.Series
) -> pa.DataFrameSchema:
    amounts = {
        "amount": pa.Column(float, pa.Check.ge(0)),
        "status": _category(allowed["invoice_status"]),
        "attempts": pa.Column(int, pa.Check.ge(1)),
    }
    return _account_records(
        "invoices", signup, "invoice_date", amounts, key="invoice_id"
    )


def _nps_schema(signup: pd.Series) -> pa.DataFrameSchema:
    score = {"score": pa.Column(int, pa.Check.in_range(0, 10))}
    return _account_records(
        "nps_responses", signup, "response_date", score, key="response_id"
    )


def build_schema(
    table: str,
    *,
    allowed_values: Mapping[str, Sequence[str]],
    usage_columns: Sequence[str] = (),
    accounts: pd.DataFrame | None = None,
    max_date: pd.Timestamp | None = None,
) -> pa.DataFrameSchema:
    """Build the schema of one raw table.

    Args:
        table: One of ``RAW_TABLES``.
        allowed_values: Allowed values per categorical field (from parameters).
        usage_columns: Count columns of the usage table.
        accounts: Validated accounts, needed by every table except ``accounts``.
        max_date: If given, no date column may hold a later value.

    Returns:
        The pandera schema.

    Raises:
        ValueError: If ``table`` is unknown or ``accounts`` is missing.
    """
    if table not in RAW_TABLES:
        raise ValueError(f"Unknown raw table {table!r}; allowed: {sorted(RAW_TABLES)}")
    if table == "accounts":
        return add_not_after(_accounts_schema(allowed_values), max_date)
    if accounts is None:
        raise ValueError(f"Validating {table!r} needs the validated accounts table")
    # Signup date per account id: foreign keys and "not before signup" rules.
    signup = accounts.set_index("account_id")["signup_date"]
    builders: dict[str, Callable[[], pa.DataFrameSchema]] = {
        "subscription_events": lambda: _subscription_events_schema(
            allowed_values, signup
        ),
        "usage": lambda: _usage_schema(usage_columns, signup),
        "tickets": lambda: _tickets_schema(allowed_values, signup),
        "invoices": lambda: _invoices_schema(allowed_values, signup),
        "nps_responses": lambda: _nps_schema(signup),
    }
    return add_not_after(builders[table](), max_date)


def add_not_after(
    schema: pa.DataFrameSchema, max_date: pd.Timestamp | None
) -> pa.DataFrameSchema:
    """Add "not after the data's end" to every date column of ``schema``."""
    if max_date is None:
        return schema
    limit = pd.Timestamp(max_date).normalize()
    # Timestamps during the last day itself are still within the data.
    end = limit + pd.Timedelta(days=1)
    for name, column in schema.columns.items():
        if str(column.dtype) != "datetime64[ns]":
            continue
        check = pa.Check(
            lambda s, end=end: s.isna() | (s < end),
            name=not_after_rule(limit),
        )
        schema = schema.update_column(name, checks=[*column.checks, check])
    return schema
