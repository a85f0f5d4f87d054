"""Validate a large raw table where it lies: in DuckDB or Spark, never in pandas.

The tables whose rows grow with activity (usage, tickets, invoices, NPS
responses) arrive as Parquet files. Their pandera schema is turned into Ibis
expressions (:mod:`churn_pipeline.validation.engine_rules`) and run by the
feature engine: only counts, at most five sample rows per broken rule, and the
rejected rows come back to Python. The accepted rows stay a lazy expression
that the catalog writes straight to its file.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
from ibis.backends import BaseBackend

from churn_pipeline.datasets.parquet_table import ParquetTable
from churn_pipeline.features.engine import connect_configured
from churn_pipeline.validation.engine_rules import (
    ROW,
    Flag,
    cast_columns,
    cast_to_contract,
    duplicate_keys,
    flags,
    typed,
    typed_columns,
    unique_keys,
)
from churn_pipeline.validation.mapping import apply_mapping_expr
from churn_pipeline.validation.report import (
    DataValidationError,
    describe_case,
    summarise_failure_cases,
)
from churn_pipeline.validation.schemas import RAW_TABLES, build_schema
from churn_pipeline.validation.validate import (
    CASCADE_RULE,
    REJECTED_RULES_COLUMN,
    Mode,
    ValidationResult,
    check_mode,
    log_result,
)

logger = logging.getLogger(__name__)

# Tables validated in the engine when they arrive as files.
ENGINE_TABLES = frozenset({"usage", "tickets", "invoices", "nps_responses"})
_SAMPLE_SIZE = 5
_CASCADE = "__cascade"


def connect_validation_engine(settings: Mapping[str, Any] | None) -> BaseBackend:
    """Open the engine ``data_validation.engine`` names (as the feature engine).

    Args:
        settings: ``backend`` and ``options``; DuckDB spills to
            ``options.temp_directory`` beyond ``options.memory_limit``.

    Returns:
        The connection.
    """
    return connect_configured({"engine": dict(settings or {})})


def read_numbered(con: BaseBackend, data: ParquetTable) -> ir.Table:
    """The file's rows with ``ROW``: each row's position in the file (from 0).

    Args:
        con: A DuckDB or Spark connection.
        data: The file.

    Returns:
        The table, read by the engine itself.
    """
    if con.name == "duckdb":
        rows = con.read_parquet(data.path, file_row_number=True)
        return rows.rename({ROW: "file_row_number"})
    from pyspark.sql import functions as F  # noqa: N812, PLC0415 (optional extra)

    # Ibis's Spark reader has no row number; Spark's hidden metadata column does.
    session = con._session  # the session Ibis itself queries
    # pandas writes nanosecond timestamps, which Spark reads only as numbers.
    nanos = [
        field.name
        for field in data.schema
        if pa_arrow.types.is_timestamp(field.type) and field.type.unit == "ns"
    ]
    if nanos:
        # Read when the query runs, not now: left on for the session's later reads.
        session.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
    frame = session.read.parquet(data.path)
    columns = [
        # Integer division: nanoseconds since 1970 do not fit a double exactly.
        F.expr(f"timestamp_micros(`{c}` div 1000)").cast("timestamp_ntz").alias(c)
        if c in nanos
        else F.col(c)
        for c in frame.columns
    ]
    frame = frame.select(*columns, F.col("_metadata.row_index").alias(ROW))
    view = f"validation_{uuid.uuid4().hex}"
    frame.createOrReplaceTempView(view)
    return con.table(view)


def validate_parquet_table(
    table: str,
    data: ParquetTable,
    con: BaseBackend,
    *,
    allowed_values: Mapping[str, Sequence[str]],
    usage_columns: Sequence[str] = (),
    accounts: pd.DataFrame,
    rejected_account_ids: Collection[str] = (),
    max_date: pd.Timestamp | None = None,
    mode: Mode = "strict",
    mapping: Mapping[str, Any] | None = None,
) -> ValidationResult:
    """Validate a raw table in a file with the pandera path's rules and outcome.

    Args:
        table: One of ``ENGINE_TABLES``.
        data: The raw file.
        con: The engine that reads it (:func:`connect_validation_engine`).
        allowed_values: Allowed values per categorical field.
        usage_columns: Count columns of the usage table.
        accounts: Accepted accounts (one row per account: fits in pandas).
        rejected_account_ids: Accounts rejected earlier; their rows cascade.
        max_date: No date may lie after it.
        mode: ``strict`` or ``quarantine``, as for ``validate_table``.
        mapping: ``data_validation.mappings.<table>``, applied in the engine.

    Returns:
        ``accepted`` is a lazy Ibis table (contract columns and dtypes, file
        order); ``rejected`` and the counts are as on the pandera path.

    Raises:
        ValueError: On an unknown mode or a table the engine path does not take.
        DataValidationError: As for ``validate_table``: in strict mode on any
            failure, in either mode on a missing or unexpected column.
    """
    check_mode(mode)
    if table not in ENGINE_TABLES:
        raise ValueError(f"Table {table!r} is validated by pandera, not the engine")
    schema = build_schema(
        table,
        allowed_values=allowed_values,
        usage_columns=usage_columns,
        accounts=accounts,
        max_date=max_date,
    )
    if Path(data.path).is_dir():
        raise ValueError(
            f"Raw table {table!r}: {data.path!r} is a directory; the engine path "
            "reads one Parquet file (its row order names the first of duplicates)"
        )
    raw = read_numbered(con, data)
    if mapping:
        raw = apply_mapping_expr(raw, mapping)
    n_rows = data.num_rows
    _check_columns(table, schema, [c for c in raw.columns if c != ROW], n_rows)
    raw = _with_cascade(raw, rejected_account_ids)
    flagged, found = _flagged(con, raw, schema, accounts, max_date)
    columns = list(schema.columns)
    # The rules are evaluated once, over the whole file: by one aggregation in
    # strict mode (any failure stops), else by fetching the failing rows.
    if mode == "strict":
        rule_counts = _count(flagged, found)
        if any(rule_counts[f.label] for f in found):
            failures = _failures(
                flagged, found, rule_counts, columns, RAW_TABLES[table]
            )
            raise DataValidationError(table, failures, n_rows)
        failing = _cascade_rows(raw, columns)
    else:
        failing = _failing_rows(flagged, found, columns)
    rejected, rule_counts = _rejected(failing, found, columns)
    accepted = _accepted(raw, schema, failing[ROW])
    result = ValidationResult(
        table=table,
        accepted=accepted,
        rejected=rejected,
        rule_counts=rule_counts,
        n_accepted=int(accepted.count().to_pyarrow().as_py()),
    )
    # Counted again in the engine: a row lost between the outputs shows here.
    if result.rows_in != n_rows:
        raise RuntimeError(
            f"Validation of {table!r} lost rows: {n_rows} in, "
            f"{result.rows_accepted} accepted + {len(result.rejected)} rejected"
        )
    log_result(result)
    return result


def _accepted(
    raw: ir.Table, schema: pa.DataFrameSchema, rejected_rows: pd.Series
) -> ir.Table:
    """The rows not rejected, cast to the contract's dtypes, in file order."""
    typed_raw = raw.mutate(
        **{
            typed(n): cast_to_contract(raw[n], str(c.dtype))
            for n, c in schema.columns.items()
        }
    )
    if len(rejected_rows):
        rejected = ibis.memtable(pd.DataFrame({"__rejected_row": rejected_rows}))
        typed_raw = typed_raw.filter(~typed_raw[ROW].isin(rejected["__rejected_row"]))
    ordered = typed_raw.order_by(ROW)
    return ordered.select(**{name: ordered[typed(name)] for name in schema.columns})


def _check_columns(
    table: str, schema: pa.DataFrameSchema, columns: list[str], n_rows: int
) -> None:
    """Missing or unexpected columns: pandera judges the header, with no rows."""
    header = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    try:
        schema.validate(header, lazy=True)
    except pa.errors.SchemaErrors as errors:
        failures = summarise_failure_cases(errors.failure_cases, header, None)
        raise DataValidationError(table, failures, n_rows) from None


def _with_cascade(raw: ir.Table, rejected_account_ids: Collection[str]) -> ir.Table:
    """Mark the rows of accounts rejected earlier (``_CASCADE``)."""
    ids = sorted({str(i) for i in rejected_account_ids})
    if not ids:
        return raw.mutate(**{_CASCADE: ibis.literal(False)})
    rejected = ibis.memtable(pd.DataFrame({"__rejected_id": ids}))
    account = raw["account_id"].cast("string")
    return raw.mutate(**{_CASCADE: account.isin(rejected["__rejected_id"])})


def _flagged(
    con: BaseBackend,
    raw: ir.Table,
    schema: pa.DataFrameSchema,
    accounts: pd.DataFrame,
    max_date: pd.Timestamp | None,
) -> tuple[ir.Table, list[Flag]]:
    """One boolean column per rule (``__f<i>``) and ``__rejected``.

    Rows of rejected accounts are judged by the cascade rule alone, as on the
    pandera path, which drops them before its checks.
    """
    known = ibis.memtable(accounts[["account_id", "signup_date"]])
    table = cast_columns(raw, schema, known, _duplicates(con, raw, schema))
    found = flags(table, schema, max_date)
    cascade = table[_CASCADE].fill_null(False)
    columns = {f"__f{i}": ~cascade & flag.fails for i, flag in enumerate(found)}
    table = table.mutate(**columns)
    # From the flag columns, not their expressions: each rule is computed once.
    any_failure = table[_CASCADE].fill_null(False)
    for name in columns:
        any_failure = any_failure | table[name]
    return table.mutate(__rejected=any_failure), found


def _duplicates(
    con: BaseBackend, raw: ir.Table, schema: pa.DataFrameSchema
) -> dict[tuple[str, ...], ir.Table]:
    """DuckDB: each unique key's duplicates, computed first into a temporary table.

    Found in the same query as the flags, the duplicates and the rows would
    both read one shared subquery, which DuckDB materialises whole in memory
    (it cannot spill it): validating a million accounts' usage ran out of a 3
    GB limit. Computed on their own, they are a spillable aggregation and
    usually no row. Spark inlines shared subqueries, so it needs none of this.
    """
    if con.name != "duckdb":
        return {}
    typed_raw = typed_columns(raw, schema)
    return {
        tuple(keys): con.create_table(
            f"validation_duplicates_{uuid.uuid4().hex}",
            duplicate_keys(typed_raw, keys),
            temp=True,
        )
        for keys in unique_keys(schema)
    }


def _count(flagged: ir.Table, found: list[Flag]) -> dict[str, int]:
    """Failing rows per rule label, in one pass over the table."""
    sums = {
        f"__f{i}": flagged[f"__f{i}"].cast("int64").sum() for i in range(len(found))
    }
    row = flagged.aggregate(**sums).to_pyarrow().to_pylist()[0]
    counts: dict[str, int] = {}
    for i, flag in enumerate(found):
        counts[flag.label] = counts.get(flag.label, 0) + int(row[f"__f{i}"] or 0)
    return counts


def _failing_rows(
    flagged: ir.Table, found: list[Flag], columns: list[str]
) -> pd.DataFrame:
    """Every rejected row: its position, raw values, cascade and rule flags."""
    flag_columns = [f"__f{i}" for i in range(len(found))]
    bad = flagged.filter(flagged["__rejected"])
    rows = bad.select(ROW, *columns, _CASCADE, *flag_columns).to_pyarrow()
    return rows.to_pandas().sort_values(ROW, ignore_index=True)


def _cascade_rows(raw: ir.Table, columns: list[str]) -> pd.DataFrame:
    """Rows of rejected accounts: rejected for that alone (no rule is checked)."""
    rows = raw.filter(raw[_CASCADE]).select(ROW, *columns, _CASCADE).to_pyarrow()
    return rows.to_pandas().sort_values(ROW, ignore_index=True)


def _failures(
    flagged: ir.Table,
    found: list[Flag],
    rule_counts: Mapping[str, int],
    raw_columns: list[str],
    key: Sequence[str],
) -> pd.DataFrame:
    """The strict report: per broken rule its count and up to five samples."""
    single_key = key[0] if len(key) == 1 else None
    rows = []
    for i, flag in enumerate(found):
        if not rule_counts[flag.label]:
            continue
        # Top five rows in file order: a LIMIT, never the whole table.
        head = flagged.filter(flagged[f"__f{i}"]).order_by(ROW).limit(_SAMPLE_SIZE)
        sample = head.select(*raw_columns, ROW).to_pyarrow().to_pandas()
        sample = sample.set_index(ROW)
        described = [
            describe_case(sample, single_key, flag.column, index, None)
            for index in sample.index
        ]
        rows.append(
            {
                "column": flag.column,
                "rule": flag.rule,
                "n_failing_rows": rule_counts[flag.label],
                "sample": described,
            }
        )
    return pd.DataFrame(rows, columns=["column", "rule", "n_failing_rows", "sample"])


def _rejected(
    failing: pd.DataFrame, found: list[Flag], columns: list[str]
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Rejected rows as on the pandera path, and rejected rows per rule."""
    flags = [(CASCADE_RULE, failing[_CASCADE].fillna(False).astype(bool))]
    for i, flag in enumerate(found):
        if f"__f{i}" in failing.columns:
            flags.append((flag.label, failing[f"__f{i}"].astype(bool)))
    counts: dict[str, int] = {}
    for label, broken in flags:
        counts[label] = counts.get(label, 0) + int(broken.sum())
    # Text as the pandera path writes it (pandas' own rendering of each value).
    rejected = failing[columns].astype("string").reset_index(drop=True)
    per_row = zip(*(broken.tolist() for _, broken in flags), strict=True)
    labels = [label for label, _ in flags]
    rejected[REJECTED_RULES_COLUMN] = pd.Series(
        ["; ".join(_broken(labels, hits)) for hits in per_row], dtype=object
    )
    return rejected, {k: v for k, v in sorted(counts.items()) if v}


def _broken(labels: list[str], hits: Sequence[bool]) -> list[str]:
    """The labels of the rules a row broke, each once, in rule order."""
    return list(
        dict.fromkeys(lab for lab, hit in zip(labels, hits, strict=True) if hit)
    )
