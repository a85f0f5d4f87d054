"""The customer_table pipeline: one row per customer with a label, to the scores."""

from kedro.pipeline import Node, Pipeline

from churn_pipeline.pipelines import explanation, model_registry, scoring
from churn_pipeline.pipelines.customer_table.nodes import (
    cross_validate,
    fit_customer_model,
    prepare_customer_table,
    select_current_customers,
    tune_customer_model,
)
from churn_pipeline.pipelines.model_training.nodes import log_tuned_params


def create_pipeline(**kwargs: object) -> Pipeline:
    """Create the customer_table pipeline.

    Its own nodes prepare, cross-validate (nested: tuning inside each fold,
    beside a default-XGBoost baseline), tune and fit the final model; their
    outputs carry the names the registry, explanation and scoring pipelines
    read, so those run unchanged after them.
    """
    stage = Pipeline(
        [
            Node(
                func=prepare_customer_table,
                inputs=["raw_customers", "params:customer_table"],
                outputs=["test_snapshots", "rejected_customers", "validation_report"],
                name="prepare_customer_table_node",
            ),
            Node(
                func=cross_validate,
                inputs=[
                    "test_snapshots",
                    "validation_report",
                    "params:customer_table",
                    "params:model_training",
                    "params:profit",
                ],
                outputs="evaluation_metrics",
                name="cross_validate_node",
            ),
            Node(
                func=tune_customer_model,
                inputs=[
                    "test_snapshots",
                    "params:customer_table",
                    "params:model_training",
                    "params:profit",
                ],
                outputs="tuned_params",
                name="tune_customer_model_node",
            ),
            Node(
                func=log_tuned_params,
                inputs="tuned_params",
                outputs=None,
                name="log_customer_tuned_params_node",
            ),
            Node(
                func=fit_customer_model,
                inputs=[
                    "test_snapshots",
                    "params:customer_table",
                    "params:model_training",
                    "tuned_params",
                ],
                outputs="churn_model",
                name="fit_customer_model_node",
            ),
            Node(
                func=select_current_customers,
                inputs="test_snapshots",
                outputs="scoring_snapshots",
                name="select_current_customers_node",
            ),
        ]
    )
    return (
        stage
        + model_registry.create_pipeline()
        + explanation.create_pipeline()
        + scoring.create_pipeline()
    )
