"""The engine path gives the pandera path's outcome on the same rows, from Parquet."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pytest
from ibis.backends import BaseBackend
from tests.validation.test_quarantine import FAULTS, MAX_DATE, Tables, _set

from churn_pipeline.datasets.parquet_table import ParquetTable
from churn_pipeline.validation import (
    REJECTED_RULES_COLUMN,
    DataValidationError,
    ValidationResult,
    build_schema,
    in_engine,
    validate_table,
)
from churn_pipeline.validation.engine_rules import ROW, cast_columns, flags
from churn_pipeline.validation.in_engine import (
    ENGINE_TABLES,
    connect_validation_engine,
    validate_parquet_table,
)
from churn_pipeline.validation.validate import CASCADE_RULE

ENGINE_FAULTS = [
    name for name, (_, table, _) in FAULTS.items() if table in ENGINE_TABLES
]


@pytest.fixture(scope="module")
def duckdb_con() -> BaseBackend:
    return connect_validation_engine({"backend": "duckdb"})


def _kwargs(tables: Tables, params: dict[str, Any], mode: str) -> dict[str, Any]:
    return {
        "allowed_values": params["allowed_values"],
        "usage_columns": params["usage_columns"],
        "accounts": tables["accounts"],
        "max_date": MAX_DATE,
        "mode": mode,
    }


def _in_engine(
    con: BaseBackend,
    table: str,
    frame: pd.DataFrame,
    path: Path,
    **kwargs: Any,
) -> ValidationResult:
    frame.to_parquet(path)
    return validate_parquet_table(table, ParquetTable(str(path)), con, **kwargs)


def _on_pandera(table: str, path: Path, **kwargs: Any) -> ValidationResult:
    """The pandera path on the same file, read into pandas as a run reads it."""
    return validate_table(table, pd.read_parquet(path), **kwargs)


def _accepted(result: ValidationResult) -> pd.DataFrame:
    accepted = result.accepted
    frame = accepted if isinstance(accepted, pd.DataFrame) else accepted.to_pandas()
    # DuckDB stores microseconds: compare values, not the unit.
    return frame.reset_index(drop=True).astype(
        {c: "datetime64[ns]" for c in frame.columns if frame[c].dtype.kind == "M"}
    )


def _rejected(result: ValidationResult) -> pd.DataFrame:
    # pandera lists rejected rows in the order it found them; the engine in
    # file order: compare as sets of rows.
    rejected = result.rejected
    return rejected.sort_values(list(rejected.columns)).reset_index(drop=True)


def assert_same_outcome(pandera: ValidationResult, engine: ValidationResult) -> None:
    """Accepted rows, rejected rows with their rules, and every count agree."""
    pd.testing.assert_frame_equal(_accepted(engine), _accepted(pandera))
    pd.testing.assert_frame_equal(_rejected(engine), _rejected(pandera))
    assert engine.rule_counts == pandera.rule_counts
    assert engine.counts() == pandera.counts()


def _message_lines(error: DataValidationError) -> set[str]:
    return set(str(error).splitlines())


@pytest.mark.parametrize("fault", ENGINE_FAULTS)
def test_fault_is_quarantined_as_pandera_does(
    raw_tables, validation_params, duckdb_con, tmp_path, fault
):
    inject, table, rule = FAULTS[fault]
    tables = inject(raw_tables)
    kwargs = _kwargs(tables, validation_params, "quarantine")
    path = tmp_path / "raw.parquet"
    engine = _in_engine(duckdb_con, table, tables[table], path, **kwargs)
    pandera = _on_pandera(table, path, **kwargs)
    assert engine.rule_counts[rule] == 1
    assert_same_outcome(pandera, engine)


@pytest.mark.parametrize("fault", ENGINE_FAULTS)
def test_fault_stops_a_strict_run_with_pandera_message(
    raw_tables, validation_params, duckdb_con, tmp_path, fault
):
    inject, table, rule = FAULTS[fault]
    tables = inject(raw_tables)
    kwargs = _kwargs(tables, validation_params, "strict")
    path = tmp_path / "raw.parquet"
    column, _, name = rule.partition(": ")
    with pytest.raises(DataValidationError, match=f"column '{column}'") as engine:
        _in_engine(duckdb_con, table, tables[table], path, **kwargs)
    with pytest.raises(DataValidationError) as pandera:
        _on_pandera(table, path, **kwargs)
    assert _message_lines(engine.value) == _message_lines(pandera.value)
    assert f"column '{column}', rule '{name}'" in str(engine.value)


def test_several_faults_in_one_table_agree(
    raw_tables, validation_params, duckdb_con, tmp_path
):
    tables = _set("usage", 0, "logins", -1)(raw_tables)
    tables = _set("usage", 1, "active_users", -1)(tables)
    tables = _set("usage", 1, "logins", -3)(tables)  # one row, two rules
    tables = _set("usage", 3, "usage_date", pd.Timestamp("2020-01-01"))(tables)
    kwargs = _kwargs(tables, validation_params, "quarantine")
    path = tmp_path / "u.parquet"
    engine = _in_engine(duckdb_con, "usage", tables["usage"], path, **kwargs)
    pandera = _on_pandera("usage", path, **kwargs)
    assert (engine.rows_accepted, len(engine.rejected)) == (2, 3)
    assert_same_outcome(pandera, engine)


@pytest.mark.parametrize(
    ("column", "value", "rules"),
    [
        ("logins", "ten", ["coerce_dtype('int64')", "dtype('int64')"]),
        (
            "usage_date",
            "31/02/2024",
            ["coerce_dtype('datetime64[ns]')", "dtype('datetime64[ns]')"],
        ),
        ("logins", None, ["coerce_dtype('int64')", "not_nullable", "dtype('int64')"]),
    ],
)
def test_text_that_does_not_cast_is_rejected_as_pandera_does(
    raw_tables, validation_params, duckdb_con, tmp_path, column, value, rules
):
    usage = raw_tables["usage"].copy()
    # A text column in the file, as a CSV export written to Parquet would give.
    usage[column] = usage[column].astype(str).astype(object)
    usage.loc[0, column] = value
    kwargs = _kwargs(raw_tables, validation_params, "quarantine")
    path = tmp_path / "u.parquet"
    engine = _in_engine(duckdb_con, "usage", usage, path, **kwargs)
    assert engine.rule_counts == {f"{column}: {rule}": 1 for rule in rules}
    assert engine.rejected[column].tolist() == [value if value else pd.NA]
    # The accepted rows come out with the contract's dtypes.
    assert _accepted(engine).dtypes.to_dict() == {
        "account_id": "object",
        "usage_date": "datetime64[ns]",
        **dict.fromkeys(validation_params["usage_columns"], "int64"),
    }
    assert_same_outcome(_on_pandera("usage", path, **kwargs), engine)


def test_rows_of_a_rejected_account_cascade(
    raw_tables, validation_params, duckdb_con, tmp_path
):
    tables = _set("tickets", 1, "priority", "maybe")(raw_tables)  # A2's ticket
    kwargs = {
        **_kwargs(tables, validation_params, "strict"),
        "rejected_account_ids": ("A2",),
    }
    path = tmp_path / "t.parquet"
    engine = _in_engine(duckdb_con, "tickets", tables["tickets"], path, **kwargs)
    # Judged by the cascade alone, even in strict mode: never reported twice.
    assert engine.rule_counts == {CASCADE_RULE: 2}
    assert engine.rejected["ticket_id"].tolist() == ["T2", "T3"]
    assert_same_outcome(_on_pandera("tickets", path, **kwargs), engine)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (
            lambda f: f.drop(columns="logins"),
            "column 'usage', rule 'column_in_dataframe'",
        ),
        (lambda f: f.assign(extra=1), "column 'usage', rule 'column_in_schema'"),
    ],
)
@pytest.mark.parametrize("mode", ["strict", "quarantine"])
def test_missing_or_unexpected_column_fails_in_either_mode(
    raw_tables, validation_params, duckdb_con, tmp_path, change, match, mode
):
    kwargs = _kwargs(raw_tables, validation_params, mode)
    with pytest.raises(DataValidationError, match=match):
        _in_engine(
            duckdb_con,
            "usage",
            change(raw_tables["usage"]),
            tmp_path / "u.parquet",
            **kwargs,
        )


def test_rows_in_equal_accepted_plus_rejected(
    raw_tables, validation_params, duckdb_con, tmp_path
):
    tables = _set("invoices", 0, "status", "maybe")(raw_tables)
    kwargs = _kwargs(tables, validation_params, "quarantine")
    engine = _in_engine(
        duckdb_con, "invoices", tables["invoices"], tmp_path / "i.parquet", **kwargs
    )
    counts = engine.counts()
    assert counts["rows_in"] == len(tables["invoices"]) == 3
    assert counts["rows_in"] == counts["rows_accepted"] + counts["rows_rejected"]
    assert counts["rows_accepted"] == len(_accepted(engine)) == 2
    assert counts["columns"] == list(tables["invoices"].columns)


def test_empty_file_passes_with_zero_rows(
    raw_tables, validation_params, duckdb_con, tmp_path
):
    kwargs = _kwargs(raw_tables, validation_params, "strict")
    empty = raw_tables["nps_responses"].iloc[0:0]
    engine = _in_engine(
        duckdb_con, "nps_responses", empty, tmp_path / "n.parquet", **kwargs
    )
    assert (engine.rows_in, engine.rows_accepted, len(engine.rejected)) == (0, 0, 0)


def test_mapping_runs_in_the_engine(
    raw_tables, validation_params, duckdb_con, tmp_path
):
    exported = (
        raw_tables["tickets"]
        .rename(columns={"opened_at": "submitted_at"})
        .assign(
            priority=["Low", "High", "urgent"],
            internal_note="x",
        )
        .drop(columns="satisfaction")
    )
    mapping = {
        "drop": ["internal_note"],
        "columns": {"submitted_at": "opened_at"},
        "values": {"priority": {"Low": "low", "High": "high"}},
        "constants": {"satisfaction": None},
    }
    kwargs = {
        **_kwargs(raw_tables, validation_params, "strict"),
        "mapping": mapping,
    }
    engine = _in_engine(
        duckdb_con, "tickets", exported, tmp_path / "t.parquet", **kwargs
    )
    accepted = _accepted(engine)
    assert accepted.columns.tolist() == list(raw_tables["tickets"].columns)
    assert accepted["priority"].tolist() == ["low", "high", "urgent"]
    assert accepted["opened_at"].tolist() == raw_tables["tickets"]["opened_at"].tolist()
    assert accepted["satisfaction"].isna().all()


def test_mapping_naming_an_absent_column_is_a_clear_error(
    raw_tables, validation_params, duckdb_con, tmp_path
):
    kwargs = {
        **_kwargs(raw_tables, validation_params, "strict"),
        "mapping": {"columns": {"submitted_at": "opened_at"}},
    }
    with pytest.raises(ValueError, match=r"lacks: \['submitted_at'\]"):
        _in_engine(
            duckdb_con,
            "tickets",
            raw_tables["tickets"],
            tmp_path / "t.parquet",
            **kwargs,
        )


def test_a_directory_of_files_is_a_clear_error(
    raw_tables, validation_params, duckdb_con, tmp_path
):
    (tmp_path / "usage.parquet").mkdir()
    raw_tables["usage"].to_parquet(tmp_path / "usage.parquet" / "part-0.parquet")
    with pytest.raises(ValueError, match=r"'usage'.*is a directory"):
        validate_parquet_table(
            "usage",
            ParquetTable(str(tmp_path / "usage.parquet")),
            duckdb_con,
            **_kwargs(raw_tables, validation_params, "strict"),
        )


@pytest.mark.parametrize("table", ["accounts", "subscription_events"])
def test_small_tables_stay_on_pandera(
    raw_tables, validation_params, duckdb_con, tmp_path, table
):
    kwargs = _kwargs(raw_tables, validation_params, "strict")
    with pytest.raises(ValueError, match=f"Table '{table}' is validated by pandera"):
        _in_engine(
            duckdb_con, table, raw_tables[table], tmp_path / "x.parquet", **kwargs
        )


def _schema(table: str, tables: Tables, params: dict[str, Any]) -> Any:
    return build_schema(
        table,
        allowed_values=params["allowed_values"],
        usage_columns=params["usage_columns"],
        accounts=tables["accounts"],
        max_date=MAX_DATE,
    )


@pytest.mark.parametrize("table", sorted(ENGINE_TABLES))
def test_rule_query_reads_the_rows_once_without_a_shared_subquery(
    raw_tables, validation_params, duckdb_con, tmp_path, table
):
    # DuckDB holds a subquery read twice (a CTE) in memory whole: the rows
    # and their duplicate keys in one query ran a million accounts' usage out
    # of memory. The duplicates are found beforehand instead.
    raw_tables[table].to_parquet(tmp_path / "raw.parquet")
    raw = in_engine.read_numbered(
        duckdb_con, ParquetTable(str(tmp_path / "raw.parquet"))
    )
    schema = _schema(table, raw_tables, validation_params)
    raw = raw.mutate(__cascade=ibis.literal(False))
    flagged, found = in_engine._flagged(
        duckdb_con, raw, schema, raw_tables["accounts"], MAX_DATE
    )

    sql = str(ibis.to_sql(flagged, dialect="duckdb"))
    assert "WITH " not in sql.upper()
    assert found


@pytest.mark.parametrize("table", sorted(ENGINE_TABLES))
def test_every_schema_rule_has_an_engine_version(raw_tables, validation_params, table):
    schema = _schema(table, raw_tables, validation_params)
    # Flags are built on an unbound table: no rows, no engine.
    empty = ibis.table({**{c: "string" for c in schema.columns}, ROW: "int64"})
    accounts = ibis.table({"account_id": "string", "signup_date": "timestamp"})
    labels = [
        f.label for f in flags(cast_columns(empty, schema, accounts), schema, MAX_DATE)
    ]
    checks = [c.error or c.name for col in schema.columns.values() for c in col.checks]
    wide = [str(c.name).replace("::", ": ", 1) for c in schema.checks]
    for rule in checks:
        assert any(label.endswith(f": {rule}") for label in labels), rule
    assert set(wide) <= set(labels)


# ----------------------------------------------------------------- Spark
@pytest.fixture(scope="module")
def spark_con() -> Iterator[BaseBackend]:
    pytest.importorskip("pyspark")
    options = {"config": {"spark.sql.shuffle.partitions": "1"}}
    yield connect_validation_engine({"backend": "pyspark", "options": options})


@pytest.mark.parametrize("mode", ["quarantine", "strict"])
def test_spark_gives_the_same_outcome_on_a_few_faults(
    raw_tables, validation_params, spark_con, tmp_path, mode
):
    tables = FAULTS["duplicate key"][0](raw_tables)
    tables = FAULTS["satisfaction on an open ticket"][0](tables)
    tables = FAULTS["closed before opened"][0](tables)
    kwargs = _kwargs(tables, validation_params, mode)
    path = tmp_path / "t.parquet"
    if mode == "strict":
        with pytest.raises(DataValidationError) as spark:
            _in_engine(spark_con, "tickets", tables["tickets"], path, **kwargs)
        with pytest.raises(DataValidationError) as pandera:
            _on_pandera("tickets", path, **kwargs)
        assert _message_lines(spark.value) == _message_lines(pandera.value)
        return
    spark = _in_engine(spark_con, "tickets", tables["tickets"], path, **kwargs)
    pandera_result = _on_pandera("tickets", path, **kwargs)
    assert len(spark.rejected) == 3
    assert REJECTED_RULES_COLUMN in spark.rejected.columns
    assert_same_outcome(pandera_result, spark)
