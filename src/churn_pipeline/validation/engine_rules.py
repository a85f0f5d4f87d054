"""The pandera schema's rules as Ibis expressions, one failure flag per rule.

The schema built by :func:`churn_pipeline.validation.schemas.build_schema`
stays the single source of truth: every column, dtype, nullability, uniqueness
and check is read from it, and each rule keeps pandera's label. A check this
module does not know raises :class:`NotImplementedError` naming it, so the two
engines cannot drift apart silently.

Null handling follows pandera's: a check ignores missing values; a value that
does not cast to the contract's type fails ``coerce_dtype`` (and ``dtype``)
and no other rule of its column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd
import pandera.pandas as pa

from churn_pipeline.validation.report import RULE_SEPARATOR
from churn_pipeline.validation.schemas import (
    CLOSED_AFTER_OPENED_RULE,
    FOREIGN_KEY_RULE,
    SATISFACTION_CLOSED_RULE,
    not_after_rule,
    signup_rule,
)

# Private columns of the flagged table; raw columns keep their own names.
ROW = "__row"
SIGNUP = "__signup"
_TYPED = "__typed_"
_FIRST = "__first_row"

# pandera dtype -> Ibis type of the accepted column.
_IBIS_TYPES = {
    "str": "string",
    "int64": "int64",
    "float64": "float64",
    "datetime64[ns]": "timestamp",
}


@dataclass(frozen=True)
class Flag:
    """One rule over the flagged table.

    Attributes:
        column: The column the rule is reported against.
        rule: The rule's name, as pandera reports it.
        fails: True on the rows that break it (never null).
    """

    column: str
    rule: str
    fails: ir.BooleanValue

    @property
    def label(self) -> str:
        """``"<column>: <rule>"``, as in ``rejected_rules``."""
        return f"{self.column}: {self.rule}"


def typed(column: str) -> str:
    """Name of the column holding ``column`` cast to the contract's type."""
    return f"{_TYPED}{column}"


def cast_columns(
    raw: ir.Table,
    schema: pa.DataFrameSchema,
    accounts: ir.Table,
    duplicates: Mapping[tuple[str, ...], ir.Table] | None = None,
) -> ir.Table:
    """``raw`` plus each column cast to its contract type and what rules look up.

    Args:
        raw: The raw columns (exactly the schema's) plus ``ROW``.
        schema: The table's pandera schema.
        accounts: Accepted accounts: ``account_id`` and ``signup_date``.
        duplicates: Per unique key (:func:`unique_keys`), its
            :func:`duplicate_keys` table, computed beforehand (e.g. into a
            temporary table); a key not given is computed in the same query.

    Returns:
        The raw columns, ``typed(<column>)`` for each, ``SIGNUP`` (null for an
        unknown account) and, per unique key, the first row holding it when
        it is duplicated (``_first_row(keys)``).
    """
    table = typed_columns(raw, schema)
    for keys in unique_keys(schema):
        first = (duplicates or {}).get(tuple(keys))
        if first is None:
            first = duplicate_keys(table, keys)
        table = _with_first_row(table, keys, first)
    known = accounts.select(
        __account=accounts["account_id"].cast("string"),
        **{SIGNUP: accounts["signup_date"].cast("timestamp")},
    )
    joined = table.left_join(known, table[typed("account_id")] == known["__account"])
    return joined.drop("__account")


def typed_columns(raw: ir.Table, schema: pa.DataFrameSchema) -> ir.Table:
    """``raw`` plus ``typed(<column>)``: each column cast to its contract type."""
    return raw.mutate(
        **{
            typed(name): cast_to_contract(raw[name], str(column.dtype))
            for name, column in schema.columns.items()
        }
    )


def unique_keys(schema: pa.DataFrameSchema) -> list[list[str]]:
    """The column sets ``schema`` holds unique: each unique column, the table key."""
    keys = [[name] for name, column in schema.columns.items() if column.unique]
    if schema.unique:
        keys.append(
            [schema.unique] if isinstance(schema.unique, str) else list(schema.unique)
        )
    return keys


def _first_row(keys: list[str]) -> str:
    return f"{_FIRST}_{'_'.join(keys)}"


def duplicate_keys(table: ir.Table, keys: list[str]) -> ir.Table:
    """Each key value held by more than one row, with the first row holding it.

    Args:
        table: :func:`typed_columns` of the raw rows.
        keys: One of :func:`unique_keys`.

    Returns:
        ``__dup<i>`` (the typed key columns) and ``_first_row(keys)``.
    """
    columns = [typed(k) for k in keys]
    return (
        table.aggregate(
            by=columns,
            **{_first_row(keys): table[ROW].min(), "__n": table[ROW].count()},
        )
        .filter(lambda t: t["__n"] > 1)
        .drop("__n")
        # Renamed: the join with the rows keeps the left side's key names.
        .rename({f"__dup{i}": c for i, c in enumerate(columns)})
    )


def _with_first_row(table: ir.Table, keys: list[str], first: ir.Table) -> ir.Table:
    """Add the first row of each duplicated key; null for a key seen once."""
    columns = [typed(k) for k in keys]
    predicates = [table[c] == first[f"__dup{i}"] for i, c in enumerate(columns)]
    joined = table.left_join(first, predicates)
    return joined.drop(*[f"__dup{i}" for i in range(len(columns))])


def cast_to_contract(value: ir.Value, dtype: str) -> ir.Value:
    """``value`` as the contract's ``dtype``; null where it does not cast."""
    target = _IBIS_TYPES.get(dtype)
    if target is None:
        raise NotImplementedError(f"No engine cast for the contract dtype {dtype!r}")
    if target == "string":
        return value.cast("string")  # as pandera's coercion: anything has a text
    if value.type().is_string() and target == "timestamp":
        # pandas reads an empty date as missing (NaT), not as a bad date.
        value = ibis.ifelse(value.strip() == "", ibis.null("string"), value)
    return value.try_cast(target)


def flags(
    table: ir.Table, schema: pa.DataFrameSchema, max_date: pd.Timestamp | None
) -> list[Flag]:
    """Every rule of ``schema`` as a failure flag over :func:`cast_columns`' table.

    Args:
        table: The output of :func:`cast_columns`.
        schema: The table's pandera schema.
        max_date: The data's last day, as given to ``build_schema``.

    Returns:
        The flags: table-wide rules, then column by column.

    Raises:
        NotImplementedError: For a rule the engine path does not implement.
    """
    found: list[Flag] = []
    # pandera's order: table-wide rules, then each column's.
    for check in schema.checks:
        column, _, rule = str(check.name).partition(RULE_SEPARATOR)
        found.append(Flag(column, rule, _row_rule(table, column, rule)))
    if schema.unique:
        keys = unique_keys(schema)[-1]
        first_seen = _later_duplicate(table, keys)
        found.extend(Flag(c, "multiple_fields_uniqueness", first_seen) for c in keys)
    for name, column in schema.columns.items():
        found.extend(_column_flags(table, name, column, max_date))
    return found


def _column_flags(
    table: ir.Table, name: str, column: pa.Column, max_date: pd.Timestamp | None
) -> list[Flag]:
    raw, value = table[name], table[typed(name)]
    dtype = str(column.dtype)
    # pandas holds no missing value in an int64 column: pandera fails its cast.
    bad_cast = value.isnull() if dtype == "int64" else raw.notnull() & value.isnull()
    found = [Flag(name, f"coerce_dtype('{dtype}')", bad_cast)]
    if not column.nullable:
        found.append(Flag(name, "not_nullable", raw.isnull()))
    found.append(Flag(name, f"dtype('{dtype}')", bad_cast))
    if column.unique:
        found.append(Flag(name, "field_uniqueness", _later_duplicate(table, [name])))
    for check in column.checks:
        passes = _column_check(table, name, check, max_date)
        # A check ignores missing values (pandera's ignore_na).
        found.append(Flag(name, _check_label(check), value.notnull() & ~passes))
    return found


def _check_label(check: pa.Check) -> str:
    return str(check.error) if check.error is not None else str(check.name)


def _column_check(
    table: ir.Table, name: str, check: pa.Check, max_date: pd.Timestamp | None
) -> ir.BooleanValue:
    """True where ``check`` passes on the typed column ``name``."""
    value = table[typed(name)]
    stats = check.statistics or {}
    if check.name == "greater_than_or_equal_to":
        return value >= stats["min_value"]
    if check.name == "in_range":
        low, high = stats["min_value"], stats["max_value"]
        above = value >= low if stats.get("include_min", True) else value > low
        below = value <= high if stats.get("include_max", True) else value < high
        return above & below
    if check.name == "isin":
        return value.isin(list(stats["allowed_values"]))
    if check.name == FOREIGN_KEY_RULE:
        return table[SIGNUP].notnull()
    if max_date is not None and check.name == not_after_rule(max_date):
        # Timestamps during the last day itself are still within the data.
        end = pd.Timestamp(max_date).normalize() + pd.Timedelta(days=1)
        return value < ibis.literal(end.to_pydatetime())
    raise NotImplementedError(
        f"Column {name!r}: rule {_check_label(check)!r} has no engine version "
        "(add it to validation/engine_rules.py)"
    )


def _later_duplicate(table: ir.Table, keys: list[str]) -> ir.BooleanValue:
    """True on every row whose key was already seen earlier in the file."""
    first = table[_first_row(keys)]
    return first.notnull() & (table[ROW] != first)


def _row_rule(table: ir.Table, column: str, rule: str) -> ir.BooleanValue:
    """True where the table-wide rule ``rule`` (reported on ``column``) fails."""
    rules: dict[str, Callable[[], ir.BooleanValue]] = {
        signup_rule(column): lambda: _before_signup(table, column),
        CLOSED_AFTER_OPENED_RULE: lambda: _closed_not_after_opened(table),
        SATISFACTION_CLOSED_RULE: lambda: (
            table["satisfaction"].notnull() & table["closed_at"].isnull()
        ),
    }
    if rule not in rules:
        raise NotImplementedError(
            f"Column {column!r}: rule {rule!r} has no engine version "
            "(add it to validation/engine_rules.py)"
        )
    return rules[rule]().fill_null(False)


def _before_signup(table: ir.Table, column: str) -> ir.BooleanValue:
    value = table[typed(column)]
    return value.notnull() & table[SIGNUP].notnull() & (value < table[SIGNUP])


def _closed_not_after_opened(table: ir.Table) -> ir.BooleanValue:
    closed, opened = table[typed("closed_at")], table[typed("opened_at")]
    # An opening date that did not cast is reported by its own cast rule.
    bad_opened = table["opened_at"].notnull() & opened.isnull()
    return closed.notnull() & ~bad_opened & ~(closed > opened).fill_null(False)
