"""The model_registry pipeline."""

from kedro.pipeline import Node, Pipeline

from churn_pipeline.pipelines.model_registry.nodes import (
    register_model,
    run_metrics,
    tag_absent_tables,
    write_model_card,
)


def create_pipeline(**kwargs: object) -> Pipeline:
    """Create the model_registry pipeline."""
    return Pipeline(
        [
            Node(
                func=run_metrics,
                inputs=["evaluation_metrics", "validation_report"],
                outputs="run_metrics",
                name="run_metrics_node",
            ),
            Node(
                func=tag_absent_tables,
                inputs="validation_report",
                outputs=None,
                name="tag_absent_tables_node",
            ),
            Node(
                func=register_model,
                inputs=[
                    "churn_model",
                    "test_snapshots",
                    "evaluation_metrics",
                    "params:model_registry",
                    "params:scoring",
                    "params:profit",
                ],
                outputs="champion_decision",
                name="register_model_node",
            ),
            Node(
                func=write_model_card,
                inputs=["churn_model", "evaluation_metrics", "champion_decision"],
                outputs="model_card",
                name="write_model_card_node",
            ),
        ]
    )
