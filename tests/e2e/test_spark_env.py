"""`kedro run --env spark` gives the DuckDB run's results (Spark in local mode).

One project runs the whole pipeline on DuckDB: it validates, builds features,
trains, registers and scores. A second project gets the same raw files (with a
few faults, so quarantine has work), the model and the registry, and runs the
stages that grow with the raw data with ``--env spark``: validation, features
(and the split into snapshots), explanation and scoring, then the daily job. Counts,
model input and scores must agree; sums on another engine may differ in the last
bits only.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro_mlflow.framework.hooks.mlflow_hook import mlflow_hook
from tests.e2e.conftest import copy_project, inside, run_kedro

from churn_pipeline.features.pit import KEYS

pytestmark = pytest.mark.e2e

# What --env spark runs here, in pipeline order: (pipeline, nodes or None for
# all). The split's node writes the snapshots the trained model scores.
SPARK_STAGES: tuple[tuple[str, list[str] | None], ...] = (
    ("data_validation", None),
    ("feature_engineering", None),
    ("model_training", ["split_snapshots_node"]),
    ("explanation", None),
    ("scoring", None),
)
# Another engine's sums and means: equal to the last few bits.
RTOL = 1e-9


@dataclass(frozen=True)
class Projects:
    """The DuckDB project and the Spark project on the same raw data."""

    duckdb: Path
    spark: Path


def _quarantine(project: Path) -> None:
    """Faulty rows go to quarantine instead of stopping the run."""
    path = project / "conf/base/parameters_data_validation.yml"
    params = yaml.safe_load(path.read_text())
    params["data_validation"]["mode"] = "quarantine"
    path.write_text(yaml.safe_dump(params))


def _inject_faults(raw: Path) -> None:
    """A negative count, a duplicated usage day and an impossible satisfaction."""
    usage = pd.read_parquet(raw / "usage.parquet")
    usage.loc[usage.index[10], "logins"] = -3
    usage = pd.concat([usage, usage.iloc[[20]]], ignore_index=True)
    usage.to_parquet(raw / "usage.parquet", index=False)
    tickets = pd.read_parquet(raw / "tickets.parquet")
    closed = tickets.index[tickets["closed_at"].notna()][:2]
    tickets.loc[closed, "satisfaction"] = 9.0
    tickets.to_parquet(raw / "tickets.parquet", index=False)


def _run_spark(project: Path, pipeline: str, nodes: list[str] | None) -> None:
    """`kedro run --env spark --pipelines <pipeline> [--nodes ...]`, in process."""
    mlflow_hook.run_id = None  # as run_kedro: each run starts clean
    bootstrap_project(project)
    with KedroSession.create(project_path=project, env="spark") as session:
        session.run(pipeline_names=[pipeline], node_names=nodes)


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Projects]:
    duckdb = tmp_path_factory.mktemp("duckdb_project")
    spark = tmp_path_factory.mktemp("spark_project")
    for project in (duckdb, spark):
        copy_project(project)
        _quarantine(project)
    with inside(duckdb):
        run_kedro(duckdb, "demo_data")
        _inject_faults(duckdb / "data/01_raw")
        run_kedro(duckdb)
    # The same raw files, the model the DuckDB run trained, its registry
    # (whose artifacts stay in the DuckDB project) with the champion alias.
    shutil.copytree(duckdb / "data/01_raw", spark / "data/01_raw", dirs_exist_ok=True)
    shutil.copy(duckdb / "data/06_models/churn_model.pkl", spark / "data/06_models")
    shutil.copy(duckdb / "mlflow.db", spark / "mlflow.db")
    # The daily job logs the training run's decision next to the champion it loads.
    decision = "data/08_reporting/champion_decision.json"
    shutil.copy(duckdb / decision, spark / decision)
    with inside(spark):
        for pipeline, nodes in SPARK_STAGES:
            _run_spark(spark, pipeline, nodes)
    yield Projects(duckdb, spark)


def _report(project: Path) -> dict:
    path = project / "data/08_reporting/validation_report.json"
    return json.loads(path.read_text())["tables"]


def _table(path: Path, keys: list[str]) -> pd.DataFrame:
    """A Parquet file or directory, rows in key order, times as naive UTC.

    The engines write the same instants with another type (Spark: UTC-aware
    microseconds; DuckDB: naive), and each scoring path keeps its input's.
    """
    frame = pd.read_parquet(path).sort_values(keys, ignore_index=True)
    for name in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[name]):
            times = pd.to_datetime(frame[name], utc=True).dt.tz_localize(None)
            frame[name] = times.astype("datetime64[ns]")
    return frame


def test_validation_counts_and_quarantine_agree(projects: Projects) -> None:
    duckdb, spark = _report(projects.duckdb), _report(projects.spark)

    fields = ("rows_in", "rows_accepted", "rows_rejected", "rejected_by_rule")
    assert duckdb["usage"]["rows_rejected"] >= 2
    assert duckdb["tickets"]["rows_rejected"] >= 2
    assert set(spark) == set(duckdb)
    for table in duckdb:
        assert {f: spark[table][f] for f in fields} == {
            f: duckdb[table][f] for f in fields
        }, table


def test_model_input_agrees(projects: Projects) -> None:
    relative = Path("data/05_model_input/model_input_table.parquet")
    duckdb = _table(projects.duckdb / relative, KEYS)
    spark = _table(projects.spark / relative, KEYS)

    assert len(duckdb) > 1000 and duckdb["label"].sum() > 0
    assert list(spark.columns) == list(duckdb.columns)
    pd.testing.assert_frame_equal(spark, duckdb, check_dtype=False, rtol=RTOL)


@pytest.fixture(scope="module")
def daily_scored(projects: Projects) -> Projects:
    """The Spark project after the daily job: current features, champion scores."""
    with inside(projects.spark):
        _run_spark(projects.spark, "daily_scoring", None)
    return projects


def _assert_same_scores(projects: Projects, relative: str, ignored: list[str]) -> None:
    # Probabilities equal to the last bits may tie differently: key order.
    duckdb = _table(projects.duckdb / relative, ["account_id"]).drop(columns=ignored)
    spark = _table(projects.spark / relative, ["account_id"]).drop(columns=ignored)

    assert len(duckdb) > 100 and duckdb["contact"].any()
    assert list(spark.columns) == list(duckdb.columns)
    pd.testing.assert_frame_equal(spark, duckdb, rtol=RTOL)


def test_batch_scores_agree(projects: Projects) -> None:
    _assert_same_scores(projects, "data/07_model_output/churn_scores.parquet", [])


def test_daily_scores_agree(daily_scored: Projects) -> None:
    # Scored by the same champion, at another moment.
    _assert_same_scores(
        daily_scored, "data/07_model_output/daily_scores.parquet", ["scored_at"]
    )
