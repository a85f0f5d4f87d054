"""The model_registry pipeline."""

from kedro.pipeline import Node, Pipeline

from churn_pipeline.pipelines.model_registry.nodes import (
    log_metrics,
    register_model,
    write_model_card,
)


def create_pipeline(**kwargs: object) -> Pipeline:
    """Create the model_registry pipeline."""
    return Pipeline(
        [
            Node(
                func=log_metrics,
                inputs=["evaluation_metrics", "validation_report"],
                outputs=None,
                name="log_metrics_node",
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
