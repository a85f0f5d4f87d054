"""The model_training pipeline."""

from kedro.pipeline import Node, Pipeline

from churn_pipeline.pipelines.model_training.nodes import (
    log_tuned_params,
    split_snapshots,
    train_ensemble,
    tune_hyperparameters,
)


def create_pipeline(**kwargs: object) -> Pipeline:
    """Create the model_training pipeline."""
    return Pipeline(
        [
            Node(
                func=split_snapshots,
                inputs=[
                    "model_input_table",
                    "params:model_training",
                    "params:model_evaluation",
                ],
                outputs=["train_snapshots", "test_snapshots", "scoring_snapshots"],
                name="split_snapshots_node",
            ),
            Node(
                func=tune_hyperparameters,
                inputs=[
                    "model_input_table",
                    "params:model_training",
                    "params:model_evaluation",
                    "params:profit",
                    "validation_report",
                ],
                outputs="tuned_params",
                name="tune_hyperparameters_node",
            ),
            Node(
                func=log_tuned_params,
                inputs="tuned_params",
                outputs=None,
                name="log_tuned_params_node",
            ),
            Node(
                func=train_ensemble,
                inputs=[
                    "train_snapshots",
                    "params:model_training",
                    "validation_report",
                    "tuned_params",
                ],
                outputs="churn_model",
                name="train_ensemble_node",
            ),
        ]
    )
