"""Score every active account as of the newest data with the registered champion."""

from kedro.pipeline import Node, Pipeline

from churn_pipeline.features.build import TABLES
from churn_pipeline.pipelines.daily_scoring.nodes import (
    build_current_features,
    record_score_history,
)
from churn_pipeline.pipelines.daily_scoring.spark_nodes import score_current_on_engine
from churn_pipeline.pipelines.scoring.nodes import export_scored_list


def create_pipeline(**kwargs: object) -> Pipeline:
    """Create the daily_scoring pipeline (its node reads the contract's TABLES)."""
    return Pipeline(
        [
            Node(
                func=build_current_features,
                inputs=[*TABLES, "params:scoring", "params:feature_engineering"],
                # Saved as the feature store's offline source and online store.
                outputs="current_features",
                name="build_current_features_node",
            ),
            Node(
                func=score_current_on_engine,
                # The decision orders this after registration in `kedro run`:
                # the champion is loaded once the alias may have moved. The
                # engine setting (pyspark with --env spark) picks Spark.
                inputs=[
                    "champion",
                    "current_features",
                    "champion_decision",
                    "params:feature_engineering",
                ],
                outputs="daily_scores",
                name="score_current_node",
            ),
            Node(
                func=export_scored_list,
                inputs="daily_scores",
                outputs="daily_scores_csv",
                name="export_daily_scores_node",
            ),
            Node(
                func=record_score_history,
                inputs="daily_scores",
                outputs="score_history",
                name="record_score_history_node",
            ),
        ]
    )
