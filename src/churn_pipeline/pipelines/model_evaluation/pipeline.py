"""The model_evaluation pipeline."""

from kedro.pipeline import Node, Pipeline

from churn_pipeline.pipelines.model_evaluation.nodes import evaluate_model


def create_pipeline(**kwargs: object) -> Pipeline:
    """Create the model_evaluation pipeline."""
    return Pipeline(
        [
            Node(
                func=evaluate_model,
                inputs=["churn_model", "test_snapshots", "params:profit"],
                outputs=[
                    "evaluation_metrics",
                    "roc_curve_plot",
                    "profit_curve_plot",
                    "calibration_plot",
                ],
                name="evaluate_model_node",
            ),
        ]
    )
