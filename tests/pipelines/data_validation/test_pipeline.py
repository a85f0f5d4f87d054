from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.pandas import ParquetDataset

from churn_pipeline.pipelines.data_validation import create_pipeline
from churn_pipeline.validation import RAW_TABLES, DataValidationError


def _catalog(
    tables: dict[str, pd.DataFrame], params: dict, out: Path | None = None
) -> DataCatalog:
    datasets = {f"raw_{name}": MemoryDataset(frame) for name, frame in tables.items()}
    datasets["params:data_validation"] = MemoryDataset(params)
    if out is not None:
        # Persisted like a real run: the runner frees intermediate memory datasets.
        datasets |= {
            name: ParquetDataset(filepath=str(out / f"{name}.parquet"))
            for name in RAW_TABLES
        }
    return DataCatalog(datasets)


def test_valid_raw_tables_come_out_typed_and_complete(
    raw_tables, validation_params, tmp_path
):
    catalog = _catalog(raw_tables, validation_params, tmp_path)
    SequentialRunner().run(create_pipeline(), catalog)
    for table in RAW_TABLES:
        validated = catalog.load(table)
        assert len(validated) == len(raw_tables[table])
    assert catalog.load("usage")["logins"].dtype == "int64"


def test_a_broken_table_stops_the_run_with_its_report(raw_tables, validation_params):
    tickets = raw_tables["tickets"].copy()
    tickets.loc[0, "closed_at"] = pd.Timestamp("2024-01-01")
    tables = {**raw_tables, "tickets": tickets}
    with pytest.raises(
        DataValidationError, match="table 'tickets', column 'closed_at'"
    ):
        SequentialRunner().run(create_pipeline(), _catalog(tables, validation_params))


def test_every_raw_table_has_a_validation_node():
    outputs = create_pipeline().all_outputs()
    assert outputs == set(RAW_TABLES)
