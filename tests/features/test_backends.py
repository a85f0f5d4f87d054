"""The same feature expressions give the same model input on DuckDB and Spark."""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from churn_pipeline.datasets.parquet_table import ParquetTable
from churn_pipeline.demo_data import DemoDataConfig, generate_demo_data
from churn_pipeline.features import engine
from churn_pipeline.features.build import TABLES, placed_model_input
from churn_pipeline.features.pit import KEYS
from churn_pipeline.pipelines.feature_engineering import nodes

KEY_COLUMNS = [
    "uses_reports",
    "uses_dashboards",
    "uses_integrations",
    "uses_automations",
]


SPARK = {"master": "local[1]", "config": {"spark.sql.shuffle.partitions": "1"}}


@pytest.fixture(scope="module")
def raw() -> dict[str, pd.DataFrame]:
    return generate_demo_data(
        DemoDataConfig(
            n_accounts=150, start_date="2024-01-01", end_date="2024-12-31", seed=7
        )
    )


@pytest.fixture(scope="module")
def tables(raw) -> dict[str, ibis.Table]:
    return {name: ibis.memtable(raw[name]) for name in TABLES}


def _features(backend: str, tables: dict[str, ibis.Table], **options) -> pd.DataFrame:
    con = engine.connect(backend, options)
    expr = placed_model_input(
        con,
        tables,
        horizon_days=30,
        key_columns=KEY_COLUMNS,
        min_history_days=60,
        max_snapshots=12,
    )
    return engine.execute(con, expr, KEYS)


def test_duckdb_and_spark_compute_identical_features(tables):
    duckdb = _features("duckdb", tables)
    spark = _features("pyspark", tables, **SPARK)
    assert len(duckdb) > 500 and duckdb["label"].sum() > 0
    assert list(spark.columns) == list(duckdb.columns)
    # Same rows, same values; sums and means may differ in the last bits only.
    pd.testing.assert_frame_equal(spark, duckdb, check_dtype=False, rtol=1e-12)


def _node_files(backend: str, inputs: dict[str, ParquetTable], out: Path) -> Path:
    """The feature nodes on ``backend``, each output written as one file."""
    params = {
        "horizon_days": 30,
        "min_history_days": 60,
        "max_snapshots": 12,
        "key_feature_columns": KEY_COLUMNS,
        "engine": {"backend": backend, "options": SPARK if backend != "duckdb" else {}},
    }
    out.mkdir()

    def save(name: str, expr: ibis.Table) -> ParquetTable:
        engine.write_parquet(expr, out / f"{name}.parquet")
        return ParquetTable(str(out / f"{name}.parquet"))

    t = inputs
    spine = save(
        "spine",
        nodes.build_spine(
            t["accounts"], t["subscription_events"], t["usage"], t["invoices"], params
        ),
    )
    account = save(
        "account",
        nodes.build_account_features(
            spine, t["accounts"], t["subscription_events"], params
        ),
    )
    groups = [
        account,
        save(
            "usage",
            nodes.build_usage_features(
                spine, t["usage"], t["accounts"], account, params
            ),
        ),
        save("tickets", nodes.build_ticket_features(spine, t["tickets"], params)),
        save("billing", nodes.build_billing_features(spine, t["invoices"], params)),
        save("nps", nodes.build_nps_features(spine, t["nps_responses"], params)),
    ]
    save("model_input", nodes.join_features(spine, *groups, params))
    return out / "model_input.parquet"


def test_spark_reads_and_writes_the_feature_files_as_duckdb_does(raw, tmp_path):
    """On files in and files out, Spark writes the model input DuckDB writes."""
    inputs = {}
    for name in TABLES:
        path = tmp_path / f"{name}.parquet"
        # Microseconds: Spark reads no nanosecond Parquet timestamps.
        table = pa.Table.from_pandas(raw[name], preserve_index=False)
        pq.write_table(table, path, coerce_timestamps="us")
        inputs[name] = ParquetTable(str(path))

    duckdb = _node_files("duckdb", inputs, tmp_path / "duckdb")
    spark = _node_files("pyspark", inputs, tmp_path / "spark")

    # One file each, with the same columns and types (Spark may mark a column
    # not null where DuckDB does not).
    names_and_types = [(f.name, f.type) for f in pq.read_schema(duckdb)]
    assert [(f.name, f.type) for f in pq.read_schema(spark)] == names_and_types
    expected = pd.read_parquet(duckdb)
    assert len(expected) > 500 and expected["label"].sum() > 0
    pd.testing.assert_frame_equal(pd.read_parquet(spark), expected, rtol=1e-12)


def test_unknown_backend_lists_the_allowed_ones():
    with pytest.raises(ValueError, match=r"allowed: \['duckdb', 'pyspark'\]"):
        engine.connect("polars")


def test_an_empty_text_column_keeps_its_type():
    # An absent optional table is an empty frame; its ids must still be text.
    empty = engine.table(pd.DataFrame({"account_id": pd.Series(dtype=object)}))
    assert empty.schema()["account_id"].is_string()


def test_a_frame_reaches_the_engine_with_its_types_and_values():
    frame = pd.DataFrame(
        {
            "account_id": ["A1", None, "A3"],
            "day": pd.to_datetime(["2025-01-01 00:00", None, "2025-01-03 12:30"]),
            "at": pd.to_datetime(["2025-01-01", "2025-01-02", None]).tz_localize("UTC"),
            "seats": pd.array([1, None, 3], dtype="Int64"),
            "mrr": [10.5, float("nan"), 3.0],
        },
        index=[7, 8, 9],  # not a column
    )

    table = engine.table(frame)

    schema = table.schema()
    assert list(schema) == list(frame.columns)
    assert schema["account_id"].is_string()
    assert schema["day"].is_timestamp() and schema["at"].timezone == "UTC"
    assert schema["seats"].is_integer() and schema["mrr"].is_floating()
    back = engine.connect("duckdb").to_pandas(table)
    pd.testing.assert_frame_equal(back, frame.reset_index(drop=True), check_dtype=False)
