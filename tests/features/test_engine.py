"""The feature engine's inputs (frames, files, expressions) and settings."""

from __future__ import annotations

import os

import ibis
import pandas as pd
import pyarrow.parquet as pq
import pytest

from churn_pipeline.datasets.parquet_table import ParquetTable
from churn_pipeline.features import engine

FRAME = pd.DataFrame(
    {"account_id": ["A2", "A1", "A3"], "logins": [4, 7, 0]},
)


@pytest.fixture
def parquet(tmp_path) -> ParquetTable:
    path = tmp_path / "usage.parquet"
    FRAME.to_parquet(path, index=False)
    return ParquetTable(str(path))


def _rows(con, expr: ibis.Table) -> pd.DataFrame:
    return engine.execute(con, expr, ["account_id"])


def test_a_file_is_read_by_the_connection_itself(parquet):
    con = engine.connect("duckdb", {"threads": 1})
    table = engine.table(parquet, con)
    assert table._find_backends()[0] == [con]
    pd.testing.assert_frame_equal(
        _rows(con, table), FRAME.sort_values("account_id", ignore_index=True)
    )


def test_a_file_needs_a_connection(parquet):
    with pytest.raises(ValueError, match=r"Reading '.*usage\.parquet' needs an engine"):
        engine.table(parquet)


def test_an_expression_of_this_connection_is_used_as_it_is(parquet):
    con = engine.connect("duckdb", {"threads": 1})
    expr = engine.table(parquet, con).filter(ibis._.logins > 0)
    assert engine.table(expr, con) is expr


def test_an_expression_of_another_connection_arrives_as_its_rows(parquet):
    """An in-memory catalog hands one node's expression to the next node's engine."""
    first = engine.connect("duckdb", {"threads": 1})
    expr = engine.table(parquet, first).filter(ibis._.logins > 0)
    second = engine.connect("duckdb", {"threads": 1})
    moved = engine.table(expr, second)
    assert moved is not expr
    assert not moved._find_backends()[0]  # an in-memory table, no connection
    assert _rows(second, moved)["account_id"].tolist() == ["A1", "A2"]


def test_duckdb_settings_reach_the_connection(tmp_path):
    spill = tmp_path / "spill"
    con = engine.connect(
        "duckdb", {"memory_limit": "512MB", "temp_directory": str(spill)}
    )
    settings = con.raw_sql(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
    ).fetchone()
    assert settings[0] == "488.2 MiB"  # 512 MB = 512e6 bytes, shown in MiB
    assert settings[1] == str(spill)


def test_duckdb_spills_to_the_default_place_unless_told():
    con = engine.connect("duckdb", {"threads": 1})
    spill = con.raw_sql("SELECT current_setting('temp_directory')").fetchone()[0]
    assert spill == str(engine.DEFAULT_SPILL / str(os.getpid()))


def test_duckdb_spills_into_a_folder_whose_parents_did_not_exist(tmp_path):
    spill = tmp_path / "not" / "yet" / "spill"
    con = engine.connect(
        "duckdb",
        {"threads": 1, "memory_limit": "64MB", "temp_directory": str(spill)},
    )
    # Counting ~4M distinct 32-character keys under a 64 MB limit has to spill.
    distinct = con.raw_sql(
        "SELECT count(DISTINCT md5(CAST(i AS VARCHAR))) FROM range(4000000) t(i)"
    ).fetchone()[0]
    assert distinct == 4_000_000
    assert spill.is_dir()


@pytest.mark.parametrize("option", ["memory", "tmp_dir"])
def test_an_unknown_duckdb_setting_is_named(option):
    with pytest.raises(ValueError, match=rf"unknown DuckDB option\(s\) \['{option}'\]"):
        engine.connect("duckdb", {option: "1GB"})


def test_float_literals_are_written_as_floats(tmp_path):
    """DuckDB reads Ibis's 1.0 as a decimal; the written file must hold a float."""
    con = engine.connect("duckdb", {"threads": 1})
    t = engine.table(FRAME, con)
    expr = t.mutate(active=ibis.ifelse(t.logins > 0, 1.0, 0.0))
    typed = engine.with_declared_types(con, expr)
    assert typed.schema() == expr.schema()
    path = tmp_path / "out.parquet"
    engine.write_parquet(typed.order_by("account_id"), path)
    schema = pq.read_schema(path)
    assert str(schema.field("active").type) == "double"
    assert pd.read_parquet(path)["active"].tolist() == [1.0, 1.0, 0.0]
