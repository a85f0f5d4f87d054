"""Scoring on Spark gives the embedded scored list, row for row (local mode)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.models import synthetic
from tests.scoring.policies import make_per_account

from churn_pipeline.datasets.parquet_table import ParquetTable
from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.scoring.accounts import score_accounts
from churn_pipeline.scoring.playbook import Playbook
from churn_pipeline.scoring.policy import ScoringPolicy
from churn_pipeline.scoring.spark import (
    ROW_COLUMN,
    churn_probability_udf,
    collect_scores,
    score_on_spark,
    score_registered,
    scored_frame,
    spark_frame,
    spark_session,
    uses_spark,
)

# Two local cores and several partitions: rows come back from different tasks.
SPARK_PARAMS: dict[str, Any] = {
    "engine": {
        "backend": "pyspark",
        "options": {
            "master": "local[2]",
            "config": {"spark.sql.shuffle.partitions": "2"},
        },
    }
}


@pytest.fixture(scope="module")
def session() -> Any:
    return spark_session(SPARK_PARAMS)


@pytest.fixture(scope="module")
def model() -> ChurnEnsemble:
    return synthetic.fitted_model()


@pytest.fixture(scope="module")
def policy() -> ScoringPolicy:
    # Every kind of column: context, lists of reasons and triggers, flags.
    return make_per_account(playbook=Playbook.from_params(synthetic.PLAYBOOK_PARAMS))


@pytest.fixture(scope="module")
def accounts() -> pd.DataFrame:
    """300 accounts with a non-default index and a few missing seats."""
    table = synthetic.holdout_table().iloc[1000:1300]
    table.loc[table.index[::50], "seats"] = float("nan")
    return table.set_index(pd.Index(range(5000, 5300)))


# The embedded path itself is not bit-for-bit batch-invariant: vectorised sums
# round a row's last bit differently by its place in a batch (one row of a
# 300-row batch differs from the same row scored in a 150-row batch by 6e-17),
# and Spark's partitions are other batches. Everything else must be equal.
RTOL = 1e-12


def _assert_same_scores(scores: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same columns, types, order and values; floats to the last few bits."""
    pd.testing.assert_frame_equal(scores, expected, check_exact=False, rtol=RTOL)
    floats = scores.select_dtypes("float").columns
    exact = [c for c in scores.columns if c not in floats]
    pd.testing.assert_frame_equal(scores[exact], expected[exact], check_exact=True)


def _embedded(
    model: ChurnEnsemble, rows: pd.DataFrame, policy: ScoringPolicy
) -> pd.DataFrame:
    scores = score_accounts(model, rows, policy)
    return scores.assign(as_of_date=rows["as_of_date"].to_numpy())


@pytest.mark.parametrize("kind", ["pandas", "parquet"])
def test_spark_scores_equal_the_embedded_scores(
    session: Any,
    model: ChurnEnsemble,
    policy: ScoringPolicy,
    accounts: pd.DataFrame,
    kind: str,
    tmp_path: Path,
) -> None:
    features: pd.DataFrame | ParquetTable = accounts
    if kind == "parquet":
        path = tmp_path / "scoring_snapshots.parquet"
        accounts.to_parquet(path)
        features = ParquetTable(str(path))

    scores = score_on_spark(
        session,
        features,
        model,
        policy,
        carry=["as_of_date"],
    )

    expected = _embedded(model, accounts, policy)
    assert {"top_reasons", "triggers", "recommended_action"} <= set(scores.columns)
    _assert_same_scores(scores, expected)


def test_rows_keep_their_order_across_partitions(
    session: Any,
    model: ChurnEnsemble,
    policy: ScoringPolicy,
    accounts: pd.DataFrame,
) -> None:
    # Shuffled into three partitions: the row numbers restore the input order.
    frame = spark_frame(session, accounts).repartition(3)

    scored = scored_frame(frame, model, policy)
    scores = collect_scores(scored)

    assert scored.rdd.getNumPartitions() == 3
    assert ROW_COLUMN not in scores
    _assert_same_scores(scores, score_accounts(model, accounts, policy))


def test_a_registered_model_scores_from_spark(
    session: Any,
    register_synthetic: Callable[..., tuple[str, str]],
    scoring_policy: ScoringPolicy,
    accounts: pd.DataFrame,
) -> None:
    version, _ = register_synthetic("churn-spark")
    uri = f"models:/churn-spark/{version}"
    frame = spark_frame(session, accounts).drop(ROW_COLUMN)

    scores = score_registered(frame, uri)
    with_udf = frame.withColumn(
        "churn_probability", churn_probability_udf(session, uri)
    ).toPandas()

    model = synthetic.fitted_model()
    expected = score_accounts(model, accounts, scoring_policy)
    _assert_same_scores(scores, expected)
    pd.testing.assert_series_equal(
        with_udf["churn_probability"], expected["churn_probability"], rtol=RTOL
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, False),
        ({"engine": {"backend": "duckdb", "options": {}}}, False),
        (SPARK_PARAMS, True),
    ],
)
def test_the_engine_setting_selects_spark(
    params: dict[str, Any], expected: bool
) -> None:
    assert uses_spark(params) is expected
