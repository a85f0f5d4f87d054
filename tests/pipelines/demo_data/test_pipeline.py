from __future__ import annotations

from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.pandas import ParquetDataset

from churn_pipeline.pipelines.data_validation import create_pipeline as validation
from churn_pipeline.pipelines.demo_data import create_pipeline as demo_data
from churn_pipeline.validation import RAW_TABLES

PARAMS = {"n_accounts": 120, "start_date": "2024-01-01", "end_date": "2024-06-30"}


def test_demo_data_passes_the_data_contract(validation_params, tmp_path):
    # Persisted like a real run: the runner frees intermediate memory datasets.
    tables = {
        name: ParquetDataset(filepath=str(tmp_path / f"{name}.parquet"))
        for table in RAW_TABLES
        for name in (table, f"raw_{table}")
    }
    catalog = DataCatalog(
        {
            "params:demo_data": MemoryDataset(PARAMS),
            "params:data_validation": MemoryDataset(validation_params),
        }
        | tables
    )
    SequentialRunner().run(demo_data() + validation(), catalog)
    for table in RAW_TABLES:
        assert len(catalog.load(table)) == len(catalog.load(f"raw_{table}"))
    assert len(catalog.load("accounts")) == PARAMS["n_accounts"]
