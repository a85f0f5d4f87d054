"""The champion's daily scores on the configured engine: the driver or Spark.

With ``feature_engineering.engine.backend: pyspark`` (``kedro run --env
spark``) the executors score the current features with the champion and its
registered policy (:mod:`churn_pipeline.scoring.spark`, the same scoring code
as :func:`~churn_pipeline.pipelines.daily_scoring.nodes.score_current`);
otherwise ``score_current`` scores them on the driver, unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from churn_pipeline.datasets.parquet_table import TableData, as_pandas
from churn_pipeline.model_registry.mlflow_store import ServedModel
from churn_pipeline.pipelines.daily_scoring.nodes import (
    log_training_decision,
    score_current,
    stamp_scores,
)
from churn_pipeline.scoring.accounts import log_scored_list
from churn_pipeline.scoring.spark import score_on_spark, spark_session, uses_spark

logger = logging.getLogger(__name__)

_AS_OF = "as_of_date"


def score_current_on_engine(
    champion: ServedModel,
    features: TableData,
    champion_decision: dict[str, Any] | None,
    feature_engineering: dict[str, Any],
) -> pd.DataFrame:
    """Score the current features where the engine setting says.

    Args:
        champion: The model holding the champion alias, as the service loads it.
        features: ``build_current_features`` output (a frame or a Parquet file).
        champion_decision: The training run's decision, logged next to the
            version actually loaded.
        feature_engineering: ``feature_engineering`` parameters (``engine``).

    Returns:
        ``score_current``'s list: ``account_id``, ``as_of_date``, the scores,
        ``model_name``, ``model_version`` and ``scored_at``, riskiest first.
    """
    if not uses_spark(feature_engineering):
        return score_current(champion, as_pandas(features), champion_decision)
    log_training_decision(champion_decision)
    session = spark_session(feature_engineering)
    scores = score_on_spark(
        session, features, champion.model, champion.policy, carry=[_AS_OF]
    )
    as_of = scores.pop(_AS_OF).to_numpy()
    scores = stamp_scores(scores, as_of, champion, where=" on Spark")
    context = pd.DataFrame(columns=list(features.columns))
    log_scored_list(scores, context, champion.policy)
    return scores
