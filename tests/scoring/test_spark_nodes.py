"""The scoring and daily_scoring nodes on Spark list what they list on the driver."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tests.models import synthetic
from tests.scoring.policies import VALUE_PARAMS
from tests.scoring.test_spark import RTOL, SPARK_PARAMS

from churn_pipeline.datasets.parquet_table import ParquetTable
from churn_pipeline.model_registry.mlflow_store import ServedModel
from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.pipelines.daily_scoring.spark_nodes import score_current_on_engine
from churn_pipeline.pipelines.scoring.nodes import score_snapshot
from churn_pipeline.scoring.policy import ScoringPolicy

PER_ACCOUNT = {**synthetic.SCORING_PARAMS, "value": VALUE_PARAMS, "currency": "USD"}
DUCKDB_PARAMS = {"engine": {"backend": "duckdb", "options": {}}}


@pytest.fixture(scope="module")
def model() -> ChurnEnsemble:
    return synthetic.fitted_model()


@pytest.fixture(scope="module")
def scoring() -> pd.DataFrame:
    """The newest (unlabelled) snapshot."""
    return synthetic.make_snapshots(
        [pd.Timestamp("2024-06-30")], 250, seed=21, labelled=False
    )


@pytest.fixture(scope="module")
def labelled() -> pd.DataFrame:
    return synthetic.make_snapshots(
        [pd.Timestamp("2024-04-30"), pd.Timestamp("2024-05-31")], 300, seed=22
    )


def test_the_batch_list_on_spark_is_the_driver_list(
    model: ChurnEnsemble,
    scoring: pd.DataFrame,
    labelled: pd.DataFrame,
    tmp_path: Path,
) -> None:
    # The Spark path reads the snapshot file and the labels' column itself.
    scoring_file = tmp_path / "scoring_snapshots.parquet"
    labelled_file = tmp_path / "test_snapshots.parquet"
    scoring.to_parquet(scoring_file)
    labelled.to_parquet(labelled_file)
    arguments = (model.explain(scoring), PER_ACCOUNT, synthetic.PROFIT_PARAMS)

    driver = score_snapshot(model, scoring, *arguments, labelled, DUCKDB_PARAMS)
    spark = score_snapshot(
        model,
        ParquetTable(str(scoring_file)),
        *arguments,
        ParquetTable(str(labelled_file)),
        SPARK_PARAMS,
    )

    assert spark.columns[:2].tolist() == ["account_id", "as_of_date"]
    assert spark["contact"].any() and not spark["contact"].all()
    pd.testing.assert_frame_equal(spark, driver, check_exact=False, rtol=RTOL)


def test_the_daily_list_on_spark_is_the_driver_list(
    model: ChurnEnsemble, scoring: pd.DataFrame
) -> None:
    champion = ServedModel(
        model=model,
        policy=ScoringPolicy.from_params(
            PER_ACCOUNT, synthetic.PROFIT_PARAMS, lifetime_months=20.0
        ),
        uri="models:/churn-model@champion",
        name="churn-model",
        version="4",
        alias="champion",
        metrics={},
    )
    decision = {"model_name": "churn-model", "version": "4", "promoted": True}

    driver = score_current_on_engine(champion, scoring, decision, DUCKDB_PARAMS)
    spark = score_current_on_engine(champion, scoring, decision, SPARK_PARAMS)

    assert (spark["model_version"] == "4").all()
    assert spark["scored_at"].nunique() == 1
    pd.testing.assert_frame_equal(
        spark.drop(columns="scored_at"),
        driver.drop(columns="scored_at"),
        check_exact=False,
        rtol=RTOL,
    )
