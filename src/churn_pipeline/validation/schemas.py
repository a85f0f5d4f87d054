"""One pandera schema per raw table: the raw-data contract in code.

Allowed category values come from ``parameters_data_validation.yml`` so a team can
bring its own plans or channels without touching code. Foreign keys and date order
against the account's signup are checked with the already-validated accounts table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa

from churn_pipeline.validation.report import RULE_SEPARATOR


@dataclass(frozen=True)
class TableSpec:
    """What identifies a raw table.

    Attributes:
        key: Primary-key column(s); must be unique.
        date_column: The column that orders the table in time.
    """

    key: tuple[str, ...]
    date_column: str


RAW_TABLES: dict[str, TableSpec] = {
    "accounts": TableSpec(key=("account_id",), date_column="signup_date"),
    "subscription_events": TableSpec(key=("event_id",), date_column="event_date"),
    "usage": TableSpec(key=("account_id", "usage_date"), date_column="usage_date"),
    "tickets": TableSpec(key=("ticket_id",), date_column="opened_at"),
    "invoices": TableSpec(key=("invoice_id",), date_column="invoice_date"),
    "nps_responses": TableSpec(key=("response_id",), date_column="response_date"),
}

RowRule = Callable[[pd.DataFrame], pd.Series]


def row_rule(column: str, rule: str, predicate: RowRule) -> pa.Check:
    """A check over whole rows, reported against ``column`` under the name ``rule``."""
    return pa.Check(predicate, name=f"{column}{RULE_SEPARATOR}{rule}", error=rule)


def _category(values: Sequence[str], *, nullable: bool = False) -> pa.Column:
    return pa.Column(str, pa.Check.isin(list(values)), nullable=nullable)


def _references_account(account_ids: pd.Index) -> pa.Column:
    return pa.Column(
        str,
        pa.Check(
            lambda s: s.isin(account_ids),
            name="foreign key: account_id exists in accounts",
        ),
    )


def _on_or_after_signup(
    column: str, signup_dates: pd.Series
) -> pa.Check:  # signup_dates is indexed by account_id
    return row_rule(
        column,
        f"{column} >= account signup_date",
        lambda df: (
            df[column].isna()
            | ~df["account_id"].isin(signup_dates.index)
            | (df[column] >= df["account_id"].map(signup_dates))
        ),
    )


def _accounts_schema(allowed: Mapping[str, Sequence[str]]) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "account_id": pa.Column(str, unique=True),
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
    allowed: Mapping[str, Sequence[str]], accounts: pd.DataFrame
) -> pa.DataFrameSchema:
    signup = accounts.set_index("account_id")["signup_date"]
    is_cancel = "cancellation"
    return pa.DataFrameSchema(
        {
            "event_id": pa.Column(str, unique=True),
            "account_id": _references_account(signup.index),
            "event_date": pa.Column("datetime64[ns]"),
            "event_type": _category(allowed["event_type"]),
            "plan": _category(allowed["plan"]),
            "seats": pa.Column(int, pa.Check.ge(1)),
            "mrr": pa.Column(float, pa.Check.ge(0)),
            "churn_type": _category(allowed["churn_type"], nullable=True),
            "reason": _category(allowed["churn_reason"], nullable=True),
        },
        checks=[
            _on_or_after_signup("event_date", signup),
            row_rule(
                "churn_type",
                "churn_type and reason set exactly for cancellations",
                lambda df: (
                    ((df["event_type"] == is_cancel) == df["churn_type"].notna())
                    & ((df["event_type"] == is_cancel) == df["reason"].notna())
                ),
            ),
            row_rule(
                "account_id",
                "at most one cancellation per account",
                lambda df: (
                    ~(
                        (df["event_type"] == is_cancel)
                        & df.duplicated(subset=["account_id", "event_type"], keep=False)
                    )
                ),
            ),
            row_rule(
                "event_date",
                "no event after the account's cancellation",
                lambda df: (
                    df["event_date"]
                    <= df["account_id"]
                    .map(
                        df.loc[df["event_type"] == is_cancel]
                        .groupby("account_id")["event_date"]
                        .min()
                    )
                    .fillna(pd.Timestamp.max)
                ),
            ),
        ],
        name="subscription_events",
        strict=True,
        coerce=True,
    )


def _usage_schema(
    usage_columns: Sequence[str], accounts: pd.DataFrame
) -> pa.DataFrameSchema:
    signup = accounts.set_index("account_id")["signup_date"]
    counts = {column: pa.Column(int, pa.Check.ge(0)) for column in usage_columns}
    return pa.DataFrameSchema(
        {
            "account_id": _references_account(signup.index),
            "usage_date": pa.Column("datetime64[ns]"),
            **counts,
        },
        checks=[_on_or_after_signup("usage_date", signup)],
        unique=["account_id", "usage_date"],
        name="usage",
        strict=True,
        coerce=True,
    )


def _tickets_schema(
    allowed: Mapping[str, Sequence[str]], accounts: pd.DataFrame
) -> pa.DataFrameSchema:
    signup = accounts.set_index("account_id")["signup_date"]
    return pa.DataFrameSchema(
        {
            "ticket_id": pa.Column(str, unique=True),
            "account_id": _references_account(signup.index),
            "opened_at": pa.Column("datetime64[ns]"),
            "closed_at": pa.Column("datetime64[ns]", nullable=True),
            "priority": _category(allowed["priority"]),
            "satisfaction": pa.Column(float, pa.Check.in_range(1, 5), nullable=True),
        },
        checks=[
            _on_or_after_signup("opened_at", signup),
            row_rule(
                "closed_at",
                "closed_at after opened_at",
                lambda df: df["closed_at"].isna() | (df["closed_at"] > df["opened_at"]),
            ),
            row_rule(
                "satisfaction",
                "satisfaction only on closed tickets",
                lambda df: df["satisfaction"].isna() | df["closed_at"].notna(),
            ),
        ],
        name="tickets",
        strict=True,
        coerce=True,
    )


def _invoices_schema(
    allowed: Mapping[str, Sequence[str]], accounts: pd.DataFrame
) -> pa.DataFrameSchema:
    signup = accounts.set_index("account_id")["signup_date"]
    return pa.DataFrameSchema(
        {
            "invoice_id": pa.Column(str, unique=True),
            "account_id": _references_account(signup.index),
            "invoice_date": pa.Column("datetime64[ns]"),
            "amount": pa.Column(float, pa.Check.ge(0)),
            "status": _category(allowed["invoice_status"]),
            "attempts": pa.Column(int, pa.Check.ge(1)),
        },
        checks=[_on_or_after_signup("invoice_date", signup)],
        name="invoices",
        strict=True,
        coerce=True,
    )


def _nps_schema(accounts: pd.DataFrame) -> pa.DataFrameSchema:
    signup = accounts.set_index("account_id")["signup_date"]
    return pa.DataFrameSchema(
        {
            "response_id": pa.Column(str, unique=True),
            "account_id": _references_account(signup.index),
            "response_date": pa.Column("datetime64[ns]"),
            "score": pa.Column(int, pa.Check.in_range(0, 10)),
        },
        checks=[_on_or_after_signup("response_date", signup)],
        name="nps_responses",
        strict=True,
        coerce=True,
    )


def build_schema(
    table: str,
    *,
    allowed_values: Mapping[str, Sequence[str]],
    usage_columns: Sequence[str] = (),
    accounts: pd.DataFrame | None = None,
) -> pa.DataFrameSchema:
    """Build the schema of one raw table.

    Args:
        table: One of ``RAW_TABLES``.
        allowed_values: Allowed values per categorical field (from parameters).
        usage_columns: Count columns of the usage table.
        accounts: Validated accounts, needed by every table except ``accounts``.

    Returns:
        The pandera schema.

    Raises:
        ValueError: If ``table`` is unknown or ``accounts`` is missing.
    """
    if table not in RAW_TABLES:
        raise ValueError(f"Unknown raw table {table!r}; allowed: {sorted(RAW_TABLES)}")
    if table == "accounts":
        return _accounts_schema(allowed_values)
    if accounts is None:
        raise ValueError(f"Validating {table!r} needs the validated accounts table")
    builders: dict[str, Callable[[], pa.DataFrameSchema]] = {
        "subscription_events": lambda: _subscription_events_schema(
            allowed_values, accounts
        ),
        "usage": lambda: _usage_schema(usage_columns, accounts),
        "tickets": lambda: _tickets_schema(allowed_values, accounts),
        "invoices": lambda: _invoices_schema(allowed_values, accounts),
        "nps_responses": lambda: _nps_schema(accounts),
    }
    return builders[table]()
