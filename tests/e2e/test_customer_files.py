"""A customer table without an id column, as CSV and as Excel, by configuration.

A 1,500-customer sample of the IBM Telco file, written without ``customerID``:
once as a text CSV, once as an Excel workbook with real numbers and empty
cells (and one value spelled differently, recoded by ``customer_table.mapping``).
Each gets a small environment of its own, made of the Telco environment's files
with a few keys changed, and runs ``kedro run --pipelines customer_table``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.entities import Run
from mlflow.tracking import MlflowClient
from tests.e2e.conftest import (
    SHARED_DATASETS,
    TrainedProject,
    copy_project,
    inside,
    pipeline_runs,
    run_kedro,
)

pytestmark = pytest.mark.e2e

TELCO_CSV = (
    SHARED_DATASETS / "telco-customer-churn/WA_Fn-UseC_-Telco-Customer-Churn.csv"
)
N_CUSTOMERS = 1500
# The Excel file spells one payment method differently; the mapping recodes it.
EXPORT_SPELLING = "Credit card"
TELCO_SPELLING = "Credit card (automatic)"
ENVS = ("no_id_csv", "excel")


def _sample() -> pd.DataFrame:
    telco = pd.read_csv(TELCO_CSV, dtype=str, keep_default_na=False)
    return telco.sample(N_CUSTOMERS, random_state=0).drop(columns="customerID")


def _excel_table(sample: pd.DataFrame) -> pd.DataFrame:
    """Numbers as numbers, blanks as empty cells, one value spelled otherwise."""
    typed = sample.copy()
    for column in ("SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges"):
        typed[column] = pd.to_numeric(typed[column].str.strip().replace("", np.nan))
    typed["PaymentMethod"] = typed["PaymentMethod"].replace(
        TELCO_SPELLING, EXPORT_SPELLING
    )
    return typed


def _write_env(project: Path, env: str, catalog: dict, overrides: dict) -> None:
    """conf/<env>: the Telco environment's files with ``overrides`` applied."""
    folder = project / "conf" / env
    shutil.copytree(project / "conf/telco", folder)
    (folder / "catalog.yml").write_text(yaml.safe_dump({"raw_customers": catalog}))
    globals_ = {"data_root": f"data/{env}", "mlflow_experiment": f"churn-{env}"}
    (folder / "globals.yml").write_text(yaml.safe_dump(globals_))
    for name, block in overrides.items():
        path = folder / f"parameters_{name}.yml"
        params = yaml.safe_load(path.read_text())
        params[name].update(block)
        path.write_text(yaml.safe_dump(params))


def _customer_table_overrides(**extra: Any) -> dict[str, Any]:
    # Small and quick: 3 folds, one trial per member, 2 inner folds.
    table = {"cv_folds": 3, "tuning": {"n_trials": 1, "inner_folds": 2}, **extra}
    return {"customer_table": table}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrainedProject]:
    """Both environments run once each in one project copy."""
    if not TELCO_CSV.is_file():
        pytest.skip(f"the shared Telco file is not beside the project: {TELCO_CSV}")
    path = tmp_path_factory.mktemp("project_customer_files")
    copy_project(path)
    sample = _sample()
    sample.to_csv(path / "data/01_raw/telco_no_id.csv", index=False)
    _excel_table(sample).to_excel(path / "data/01_raw/telco.xlsx", index=False)
    csv_catalog = {
        "type": "pandas.CSVDataset",
        "filepath": "data/01_raw/telco_no_id.csv",
        "load_args": {"dtype": "str", "keep_default_na": False},
    }
    excel_catalog = {
        "type": "pandas.ExcelDataset",
        "filepath": "data/01_raw/telco.xlsx",
    }
    mapping = {"values": {"PaymentMethod": {EXPORT_SPELLING: TELCO_SPELLING}}}
    for env, catalog, table in (
        ("no_id_csv", csv_catalog, _customer_table_overrides(id_column=None)),
        ("excel", excel_catalog, _customer_table_overrides(mapping=mapping)),
    ):
        registry = {"model_registry": {"model_name": f"churn-model-{env}"}}
        _write_env(path, env, catalog, {**table, **registry})
    # The Excel environment leaves id_column out altogether: also row numbers.
    excel_params = path / "conf/excel/parameters_customer_table.yml"
    params = yaml.safe_load(excel_params.read_text())
    del params["customer_table"]["id_column"]
    excel_params.write_text(yaml.safe_dump(params))
    with inside(path) as trained:
        for env in ENVS:
            run_kedro(path, "customer_table", env=env)
        yield trained


def _run(project: TrainedProject, env: str) -> Run:
    (found,) = pipeline_runs(MlflowClient(project.tracking_uri), f"churn-{env}")
    return found


def _customers(project: TrainedProject, env: str) -> pd.DataFrame:
    return pd.read_parquet(
        project.path / f"data/{env}/05_model_input/test_snapshots.parquet"
    )


@pytest.mark.parametrize("env", ENVS)
def test_rows_get_row_number_ids_and_a_model_is_registered(project, env):
    run = _run(project, env)
    metrics = run.data.metrics
    assert metrics["validation_customers_rows_in"] == N_CUSTOMERS
    assert metrics["validation_customers_rows_rejected"] == 0
    assert "customers_duplicate_rows" in metrics
    assert "baseline_xgboost_cv_roc_auc_mean" in metrics
    assert 0.75 < metrics["cv_roc_auc_mean"] < 0.95
    assert run.data.tags["champion_promoted"] == "true"
    # The final model's tuned arguments, as on the event path.
    assert any(name.startswith("tuned.xgboost.") for name in run.data.params)
    client = MlflowClient(project.tracking_uri)
    (version,) = client.search_model_versions(f"name='churn-model-{env}'")
    assert version.run_id == run.info.run_id

    customers = _customers(project, env)
    ids = [str(i) for i in range(1, N_CUSTOMERS + 1)]
    assert customers["account_id"].tolist() == ids
    # Row k of the file is customer "k".
    sample = _sample().reset_index(drop=True)
    assert customers["tenure"].tolist() == sample["tenure"].astype(float).tolist()
    scores = pd.read_parquet(
        project.path / f"data/{env}/07_model_output/churn_scores.parquet"
    )
    assert set(scores["account_id"]) <= set(ids)
    assert len(scores) == int((sample["Churn"] == "No").sum())


def test_excel_and_csv_give_the_same_customers(project):
    from_csv = _customers(project, "no_id_csv")
    from_excel = _customers(project, "excel")
    # The mapping recoded the Excel file's spelling back to the CSV's.
    assert EXPORT_SPELLING not in set(from_excel["PaymentMethod"])
    pd.testing.assert_frame_equal(from_excel, from_csv)
