"""The explanation pipeline."""

from kedro.pipeline import Node, Pipeline

from churn_pipeline.pipelines.explanation.nodes import (
    explain_scores,
    summarise_importance,
)


def create_pipeline(**kwargs: object) -> Pipeline:
    """Create the explanation pipeline."""
    return Pipeline(
        [
            Node(
                func=explain_scores,
                inputs=["churn_model", "scoring_snapshots"],
                outputs="scoring_explanation",
                name="explain_scores_node",
            ),
            Node(
                func=summarise_importance,
                inputs="scoring_explanation",
                outputs=[
                    "shap_importance",
                    "shap_driver_importance",
                    "shap_importance_plot",
                ],
                name="summarise_importance_node",
            ),
        ]
    )
