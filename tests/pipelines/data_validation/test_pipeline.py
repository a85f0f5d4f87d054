"""The data_validation pipeline, on frames (pandera) and on Parquet files (engine).

Every behaviour is checked on both routes: raw tables handed over as frames are
validated by pandera, raw tables read from Parquet files (what a run has) are
validated in the engine for the large tables. Both must give the same rows, the
same messages and the same row accounting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
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
from churn_pipeline.datasets.parquet_table import as_pandas
from churn_pipeline.pipelines.data_validation import create_pipeline
from churn_pipeline.validation import (
    RAW_TABLES,
    REJECTED_RULES_COLUMN,
    DataValidationError,
)
from churn_pipeline.validation.in_engine import ENGINE_TABLES

Build = Callable[[dict[str, pd.DataFrame], dict], DataCatalog]


def _outputs(datasets: dict[str, Any], params: dict, root: Path) -> DataCatalog:
    """Rejected tables and the report, persisted like a run's."""
    for name in RAW_TABLES:
        datasets[f"rejected_{name}"] = AtomicParquetDataset(
            filepath=str(root / "rejected" / f"{name}.parquet")
        )
    datasets["params:data_validation"] = MemoryDataset(params)
    datasets["validation_report"] = JSONDataset(filepath=str(root / "report.json"))
    return DataCatalog(datasets)


def _frames(tables: dict[str, pd.DataFrame], params: dict, root: Path) -> DataCatalog:
    """Raw tables as frames: pandera validates every one."""
    datasets: dict[str, Any] = {
        f"raw_{name}": MemoryDataset(frame) for name, frame in tables.items()
    }
    # Persisted like a real run: the runner frees intermediate memory datasets.
    for name in RAW_TABLES:
        datasets[name] = AtomicParquetDataset(
            filepath=str(root / "valid" / f"{name}.parquet")
        )
    return _outputs(datasets, params, root)


def _files(tables: dict[str, pd.DataFrame], params: dict, root: Path) -> DataCatalog:
    """Raw tables as a run has them: Parquet files, large ones kept in the engine."""
    datasets: dict[str, Any] = {}
    for name, frame in tables.items():
        raw = ParquetTableDataset(filepath=str(root / "raw" / f"{name}.parquet"))
        raw.save(frame)
        datasets[f"raw_{name}"] = raw
        kind = ParquetTableDataset if name in ENGINE_TABLES else AtomicParquetDataset
        datasets[name] = kind(filepath=str(root / "valid" / f"{name}.parquet"))
    engine = {"engine": {"backend": "duckdb", "options": {"threads": 1}}}
    return _outputs(datasets, {**params, **engine}, root)


@pytest.fixture(params=["frames", "files"])
def route(request) -> str:
    return request.param


@pytest.fixture
def build(route, tmp_path) -> Build:
    builder = {"frames": _frames, "files": _files}[route]
    return lambda tables, params: builder(tables, params, tmp_path)


def _rows(catalog: DataCatalog, name: str) -> pd.DataFrame:
    return as_pandas(catalog.load(name))


def test_valid_raw_tables_come_out_typed_and_complete(
    raw_tables, validation_params, build, route, caplog
):
    catalog = build(raw_tables, validation_params)
    with caplog.at_level(logging.INFO, logger="churn_pipeline"):
        SequentialRunner().run(create_pipeline(), catalog)

    in_engine = {
        r.args[0] for r in caplog.records if r.msg.startswith("Validating '%s' in")
    }
    assert in_engine == (ENGINE_TABLES if route == "files" else set())
    for table in RAW_TABLES:
        assert len(_rows(catalog, table)) == len(raw_tables[table])
        assert catalog.load(f"rejected_{table}").empty
    usage = _rows(catalog, "usage")
    assert usage.columns.tolist() == raw_tables["usage"].columns.tolist()
    assert usage["logins"].dtype == "int64"
    assert usage["usage_date"].dtype.kind == "M"
    report = catalog.load("validation_report")
    assert report["rows_rejected"] == 0
    assert report["rows_in"] == sum(len(frame) for frame in raw_tables.values())


def _late_close(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    tickets = tables["tickets"].copy()
    tickets.loc[0, "closed_at"] = pd.Timestamp("2024-01-01")
    return {**tables, "tickets": tickets}


def _unknown_status(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    invoices = tables["invoices"].copy()
    invoices.loc[1, "status"] = "maybe"
    return {**tables, "invoices": invoices}


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (_late_close, r"table 'tickets', column 'closed_at'"),
        (
            _unknown_status,
            r"column 'status', rule 'isin\(\['paid', 'failed'\]\)': 1 failing "
            r"row\(s\), e.g. invoice_id='I2': status='maybe'",
        ),
    ],
    ids=["ticket-closed-before-opened", "unknown-invoice-status"],
)
def test_a_broken_table_stops_a_strict_run(
    raw_tables, validation_params, build, breakage, message
):
    catalog = build(breakage(raw_tables), validation_params)
    with pytest.raises(DataValidationError, match=message):
        SequentialRunner().run(create_pipeline(), catalog)


def test_quarantine_writes_rejected_rows_balances_and_cascades(
    raw_tables, validation_params, build
):
    accounts = raw_tables["accounts"].copy()
    accounts.loc[1, "plan"] = "platinum"  # A2: its events, usage, tickets... cascade
    usage = raw_tables["usage"].copy()
    usage.loc[0, "logins"] = -1
    tables = {**raw_tables, "accounts": accounts, "usage": usage}
    catalog = build(tables, {**validation_params, "mode": "quarantine"})
    SequentialRunner().run(create_pipeline(), catalog)

    report = catalog.load("validation_report")
    assert report["rows_in"] == sum(len(frame) for frame in tables.values())
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
    cascade = {"account_id: account rejected in table 'accounts'": 2}
    assert report["tables"]["tickets"]["rejected_by_rule"] == cascade
    assert report["tables"]["nps_responses"]["rejected_by_rule"] == {
        "account_id: account rejected in table 'accounts'": 1
    }


def test_a_column_mapping_applies(raw_tables, validation_params, build):
    tickets = raw_tables["tickets"].rename(columns={"opened_at": "submitted_at"})
    params = {
        **validation_params,
        "mappings": {"tickets": {"columns": {"submitted_at": "opened_at"}}},
    }
    catalog = build({**raw_tables, "tickets": tickets}, params)
    SequentialRunner().run(create_pipeline(), catalog)
    assert "opened_at" in _rows(catalog, "tickets").columns


def test_an_absent_table_is_empty_and_typed(raw_tables, validation_params, build):
    catalog = build(raw_tables, validation_params)
    catalog["raw_nps_responses"] = AbsentTableDataset()
    SequentialRunner().run(create_pipeline(), catalog)
    report = catalog.load("validation_report")
    assert report["absent_tables"] == ["nps_responses"]
    nps = _rows(catalog, "nps_responses")
    assert nps.empty
    assert nps.columns.tolist() == raw_tables["nps_responses"].columns.tolist()
    assert nps["score"].dtype == "int64"


def test_every_raw_table_has_a_validation_node():
    outputs = create_pipeline().all_outputs()
    assert set(RAW_TABLES) <= outputs
    assert {f"rejected_{table}" for table in RAW_TABLES} <= outputs
