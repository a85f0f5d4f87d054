"""The data_validation pipeline on Parquet files: large tables stay in the engine."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset

from churn_pipeline.datasets import (
    AbsentTableDataset,
    AtomicParquetDataset,
    ParquetTableDataset,
)
from churn_pipeline.datasets.parquet_table import ParquetTable
from churn_pipeline.pipelines.data_validation import create_pipeline
from churn_pipeline.validation import (
    RAW_TABLES,
    REJECTED_RULES_COLUMN,
    DataValidationError,
)
from churn_pipeline.validation.in_engine import ENGINE_TABLES


def _catalog(tables: dict[str, pd.DataFrame], params: dict, root: Path) -> DataCatalog:
    """Raw files as a run has them: every raw table a ``ParquetTableDataset``."""
    datasets: dict[str, Any] = {}
    for name, frame in tables.items():
        raw = ParquetTableDataset(filepath=str(root / "raw" / f"{name}.parquet"))
        raw.save(frame)
        datasets[f"raw_{name}"] = raw
        kind = ParquetTableDataset if name in ENGINE_TABLES else AtomicParquetDataset
        datasets[name] = kind(filepath=str(root / "valid" / f"{name}.parquet"))
        datasets[f"rejected_{name}"] = AtomicParquetDataset(
            filepath=str(root / "rejected" / f"{name}.parquet")
        )
    datasets["params:data_validation"] = MemoryDataset(
        {**params, "engine": {"backend": "duckdb", "options": {"threads": 1}}}
    )
    datasets["validation_report"] = JSONDataset(filepath=str(root / "report.json"))
    return DataCatalog(datasets)


def _rows(catalog: DataCatalog, name: str) -> pd.DataFrame:
    data = catalog.load(name)
    return data.to_pandas() if isinstance(data, ParquetTable) else data


def test_valid_files_come_out_typed_and_complete(
    raw_tables, validation_params, tmp_path, caplog
):
    catalog = _catalog(raw_tables, validation_params, tmp_path)
    with caplog.at_level(logging.INFO, logger="churn_pipeline"):
        SequentialRunner().run(create_pipeline(), catalog)
    in_engine = {
        r.args[0] for r in caplog.records if r.msg.startswith("Validating '%s' in")
    }
    assert in_engine == ENGINE_TABLES
    for table in RAW_TABLES:
        assert len(_rows(catalog, table)) == len(raw_tables[table])
    usage = _rows(catalog, "usage")
    assert usage.columns.tolist() == raw_tables["usage"].columns.tolist()
    assert usage["logins"].dtype == "int64"
    assert usage["usage_date"].dtype.kind == "M"
    report = catalog.load("validation_report")
    assert report["rows_rejected"] == 0
    assert report["rows_in"] == sum(len(frame) for frame in raw_tables.values())


def test_quarantine_on_files_balances_and_cascades(
    raw_tables, validation_params, tmp_path
):
    accounts = raw_tables["accounts"].copy()
    accounts.loc[1, "plan"] = "platinum"  # A2: its usage, tickets... cascade
    usage = raw_tables["usage"].copy()
    usage.loc[0, "logins"] = -1
    tables = {**raw_tables, "accounts": accounts, "usage": usage}
    params = {**validation_params, "mode": "quarantine"}
    catalog = _catalog(tables, params, tmp_path)
    SequentialRunner().run(create_pipeline(), catalog)

    report = catalog.load("validation_report")
    assert report["rows_in"] == report["rows_accepted"] + report["rows_rejected"]
    for table in RAW_TABLES:
        counts = report["tables"][table]
        assert counts["rows_in"] == len(tables[table])
        assert counts["rows_rejected"] == len(catalog.load(f"rejected_{table}"))
        assert counts["rows_accepted"] == len(_rows(catalog, table))
    assert sorted(catalog.load("rejected_usage")[REJECTED_RULES_COLUMN]) == [
        "account_id: account rejected in table 'accounts'",
        "logins: greater_than_or_equal_to(0)",
    ]
    assert _rows(catalog, "tickets")["ticket_id"].tolist() == ["T1"]
    assert report["tables"]["nps_responses"]["rejected_by_rule"] == {
        "account_id: account rejected in table 'accounts'": 1
    }


def test_a_broken_file_stops_a_strict_run(raw_tables, validation_params, tmp_path):
    invoices = raw_tables["invoices"].copy()
    invoices.loc[1, "status"] = "maybe"
    catalog = _catalog(
        {**raw_tables, "invoices": invoices}, validation_params, tmp_path
    )
    with pytest.raises(
        DataValidationError,
        match=r"column 'status', rule 'isin\(\['paid', 'failed'\]\)': 1 failing "
        r"row\(s\), e.g. invoice_id='I2': status='maybe'",
    ):
        SequentialRunner().run(create_pipeline(), catalog)


def test_mapping_applies_on_the_engine_path(raw_tables, validation_params, tmp_path):
    tickets = raw_tables["tickets"].rename(columns={"opened_at": "submitted_at"})
    params = {
        **validation_params,
        "mappings": {"tickets": {"columns": {"submitted_at": "opened_at"}}},
    }
    catalog = _catalog({**raw_tables, "tickets": tickets}, params, tmp_path)
    SequentialRunner().run(create_pipeline(), catalog)
    assert "opened_at" in _rows(catalog, "tickets").columns


def test_an_absent_table_beside_files_is_empty_and_typed(
    raw_tables, validation_params, tmp_path
):
    catalog = _catalog(raw_tables, validation_params, tmp_path)
    catalog["raw_nps_responses"] = AbsentTableDataset()
    SequentialRunner().run(create_pipeline(), catalog)
    report = catalog.load("validation_report")
    assert report["absent_tables"] == ["nps_responses"]
    nps = _rows(catalog, "nps_responses")
    assert nps.empty
    assert nps.columns.tolist() == raw_tables["nps_responses"].columns.tolist()
    assert nps["score"].dtype == "int64"
