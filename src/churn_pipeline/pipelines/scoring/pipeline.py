"""The scoring pipeline."""

from kedro.pipeline import Node, Pipeline

from churn_pipeline.pipelines.scoring.nodes import export_scored_list, score_snapshot


def create_pipeline(**kwargs: object) -> Pipeline:
    """Create the scoring pipeline."""
    return Pipeline(
        [
            Node(
                func=score_snapshot,
                inputs=[
                    "churn_model",
                    "scoring_snapshots",
                    "scoring_explanation",
                    "params:scoring",
                    "params:profit",
                    # Labelled snapshots in every input kind: the churn rate
                    # behind the per-account lifetime.
                    "test_snapshots",
                    # engine.backend pyspark (--env spark): scored on Spark.
                    "params:feature_engineering",
                ],
                outputs="churn_scores",
                name="score_snapshot_node",
            ),
            Node(
                func=export_scored_list,
                inputs="churn_scores",
                outputs="churn_scores_csv",
                name="export_scored_list_node",
            ),
        ]
    )
