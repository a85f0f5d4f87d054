"""The feature build on a file catalog: the engine reads inputs, writes outputs."""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd
import pyarrow.parquet as pq
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from tests.pipelines.feature_engineering.params import feature_params

from churn_pipeline.datasets.parquet_table import ParquetTable, ParquetTableDataset
from churn_pipeline.features.build import TABLES
from churn_pipeline.pipelines.feature_engineering import create_pipeline
from churn_pipeline.pipelines.feature_engineering.nodes import (
    build_spine,
    build_usage_features,
    join_features,
)

PARAMS = feature_params()
OUTPUTS = (
    "spine",
    "account_features",
    "usage_features",
    "ticket_features",
    "billing_features",
    "nps_features",
    "model_input_table",
)


def _files(root: Path, raw_tables: dict[str, pd.DataFrame]) -> DataCatalog:
    """A catalog of ParquetTableDatasets: validated tables saved, outputs to come."""
    datasets = {}
    for name in (*TABLES, *OUTPUTS):
        datasets[name] = ParquetTableDataset(filepath=str(root / f"{name}.parquet"))
        if name in raw_tables:
            datasets[name].save(raw_tables[name])
    return DataCatalog(datasets | {"params:feature_engineering": MemoryDataset(PARAMS)})


def _in_memory(raw_tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    catalog = DataCatalog(
        {name: MemoryDataset(frame) for name, frame in raw_tables.items()}
        | {"params:feature_engineering": MemoryDataset(PARAMS)}
    )
    SequentialRunner().run(create_pipeline(), catalog)
    return catalog.load("model_input_table").to_pyarrow().to_pandas()


@pytest.fixture
def on_files(tmp_path, raw_tables) -> Path:
    root = tmp_path / "run"
    SequentialRunner().run(create_pipeline(), _files(root, raw_tables))
    return root


def test_files_in_files_out_equal_the_in_memory_run(on_files, raw_tables):
    expected = _in_memory(raw_tables)
    written = pd.read_parquet(on_files / "model_input_table.parquet")
    pd.testing.assert_frame_equal(written, expected)
    assert len(written) > 0 and written["is_labelled"].any()


def test_every_output_is_a_parquet_file_with_the_declared_types(on_files):
    for name in OUTPUTS:
        schema = pq.read_schema(on_files / f"{name}.parquet")
        # Ibis's float literals are decimals to DuckDB; the files hold floats.
        assert not [f.name for f in schema if str(f.type).startswith("decimal")], name
    table = pq.read_schema(on_files / "model_input_table.parquet")
    assert table.field("in_first_90_days").type == "double"
    assert table.field("label").type == "double"


def test_a_second_run_writes_the_same_bytes(on_files, tmp_path, raw_tables):
    again = tmp_path / "again"
    SequentialRunner().run(create_pipeline(), _files(again, raw_tables))
    for name in OUTPUTS:
        first = (on_files / f"{name}.parquet").read_bytes()
        assert (again / f"{name}.parquet").read_bytes() == first, name


def test_usage_features_from_a_file_stay_an_engine_expression(on_files):
    """A usage file is read by the engine: the node returns a query, no frame."""
    result = build_usage_features(
        ParquetTable(str(on_files / "spine.parquet")),
        ParquetTable(str(on_files / "usage.parquet")),
        ParquetTable(str(on_files / "accounts.parquet")),
        ParquetTable(str(on_files / "account_features.parquet")),
        PARAMS,
    )
    assert isinstance(result, ibis.Table)
    (backend,) = result._find_backends()[0]
    assert backend.name == "duckdb"
    expected = pd.read_parquet(on_files / "usage_features.parquet")
    pd.testing.assert_frame_equal(result.to_pyarrow().to_pandas(), expected)


def test_spine_reads_only_dates_of_usage_from_a_file(on_files, raw_tables):
    """build_spine takes usage and invoices as files, like the pipeline."""
    rows = build_spine(
        raw_tables["accounts"],
        raw_tables["subscription_events"],
        ParquetTable(str(on_files / "usage.parquet")),
        ParquetTable(str(on_files / "invoices.parquet")),
        PARAMS,
    )
    expected = pd.read_parquet(on_files / "spine.parquet")
    pd.testing.assert_frame_equal(rows.to_pyarrow().to_pandas(), expected)


def test_a_feature_group_repeating_keys_is_refused(on_files):
    files = {name: ParquetTable(str(on_files / f"{name}.parquet")) for name in OUTPUTS}
    nps = pd.read_parquet(on_files / "nps_features.parquet")
    doubled = pd.concat([nps, nps.iloc[[0]]], ignore_index=True)
    n = len(nps)
    with pytest.raises(ValueError, match=rf"spine {n} -> {n + 1} .*account_id, as_of"):
        join_features(
            files["spine"],
            files["account_features"],
            files["usage_features"],
            files["ticket_features"],
            files["billing_features"],
            doubled,
            PARAMS,
        )
