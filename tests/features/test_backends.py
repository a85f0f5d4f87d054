"""The same feature expressions give the same model input on DuckDB and Spark."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from churn_pipeline.demo_data import DemoDataConfig, generate_demo_data
from churn_pipeline.features import engine
from churn_pipeline.features.build import TABLES, placed_model_input
from churn_pipeline.features.pit import KEYS

KEY_COLUMNS = [
    "uses_reports",
    "uses_dashboards",
    "uses_integrations",
    "uses_automations",
]


@pytest.fixture(scope="module")
def tables() -> dict[str, ibis.Table]:
    raw = generate_demo_data(
        DemoDataConfig(
            n_accounts=150, start_date="2024-01-01", end_date="2024-12-31", seed=7
        )
    )
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
    spark = _features(
        "pyspark",
        tables,
        master="local[1]",
        config={"spark.sql.shuffle.partitions": "1"},
    )
    assert len(duckdb) > 500 and duckdb["label"].sum() > 0
    assert list(spark.columns) == list(duckdb.columns)
    # Same rows, same values; sums and means may differ in the last bits only.
    pd.testing.assert_frame_equal(spark, duckdb, check_dtype=False, rtol=1e-12)


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
