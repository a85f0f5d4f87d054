from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset
from kedro_datasets.pandas import ParquetDataset

from churn_pipeline.pipelines.data_validation import create_pipeline
from churn_pipeline.validation import (
    RAW_TABLES,
    REJECTED_RULES_COLUMN,
    DataValidationError,
)


def _catalog(tables: dict[str, pd.DataFrame], params: dict, out: Path) -> DataCatalog:
    datasets = {f"raw_{name}": MemoryDataset(frame) for name, frame in tables.items()}
    datasets["params:data_validation"] = MemoryDataset(params)
    # Persisted like a real run: the runner frees intermediate memory datasets.
    for name in RAW_TABLES:
        datasets[name] = ParquetDataset(filepath=str(out / f"{name}.parquet"))
        datasets[f"rejected_{name}"] = ParquetDataset(
            filepath=str(out / "rejected" / f"{name}.parquet")
        )
    datasets["validation_report"] = JSONDataset(filepath=str(out / "report.json"))
    return DataCatalog(datasets)


def test_valid_raw_tables_come_out_typed_and_complete(
    raw_tables, validation_params, tmp_path
):
    catalog = _catalog(raw_tables, validation_params, tmp_path)
    SequentialRunner().run(create_pipeline(), catalog)
    for table in RAW_TABLES:
        assert len(catalog.load(table)) == len(raw_tables[table])
        assert catalog.load(f"rejected_{table}").empty
    assert catalog.load("usage")["logins"].dtype == "int64"
    report = catalog.load("validation_report")
    assert report["rows_rejected"] == 0
    assert report["rows_in"] == sum(len(frame) for frame in raw_tables.values())


def test_a_broken_table_stops_a_strict_run(raw_tables, validation_params, tmp_path):
    tickets = raw_tables["tickets"].copy()
    tickets.loc[0, "closed_at"] = pd.Timestamp("2024-01-01")
    tables = {**raw_tables, "tickets": tickets}
    with pytest.raises(
        DataValidationError, match="table 'tickets', column 'closed_at'"
    ):
        SequentialRunner().run(
            create_pipeline(), _catalog(tables, validation_params, tmp_path)
        )


def test_quarantine_run_writes_rejected_rows_and_balances(
    raw_tables, validation_params, tmp_path
):
    accounts = raw_tables["accounts"].copy()
    accounts.loc[1, "plan"] = "platinum"  # A2: its events, usage, tickets... cascade
    usage = raw_tables["usage"].copy()
    usage.loc[0, "logins"] = -1
    tables = {**raw_tables, "accounts": accounts, "usage": usage}
    params = {**validation_params, "mode": "quarantine"}
    catalog = _catalog(tables, params, tmp_path)
    SequentialRunner().run(create_pipeline(), catalog)

    report = catalog.load("validation_report")
    assert report["rows_in"] == sum(len(frame) for frame in tables.values())
    assert report["rows_in"] == report["rows_accepted"] + report["rows_rejected"]
    for table in RAW_TABLES:
        counts = report["tables"][table]
        rejected = catalog.load(f"rejected_{table}")
        assert counts["rows_rejected"] == len(rejected)
        assert counts["rows_accepted"] == len(catalog.load(table))
        assert counts["rows_in"] == len(tables[table])
    rejected_usage = catalog.load("rejected_usage")
    assert sorted(rejected_usage[REJECTED_RULES_COLUMN]) == [
        "account_id: account rejected in table 'accounts'",
        "logins: greater_than_or_equal_to(0)",
    ]
    assert "A2" not in set(catalog.load("tickets")["account_id"])
    assert report["tables"]["tickets"]["rejected_by_rule"] == {
        "account_id: account rejected in table 'accounts'": 2
    }


def test_every_raw_table_has_a_validation_node():
    outputs = create_pipeline().all_outputs()
    assert set(RAW_TABLES) <= outputs
    assert {f"rejected_{table}" for table in RAW_TABLES} <= outputs
