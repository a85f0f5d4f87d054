"""The customer_table pipeline: the input stage for one-row-per-customer data."""

from kedro.pipeline import Node, Pipeline

from churn_pipeline.pipelines.customer_table.nodes import (
    cross_validate,
    fit_customer_model,
    prepare_customer_table,
    select_current_customers,
)


def create_pipeline(**kwargs: object) -> Pipeline:
    """Create the customer_table pipeline.

    Its outputs carry the names the registry, explanation and scoring pipelines
    read, so those run unchanged after it.
    """
    return Pipeline(
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
                    "params:customer_table",
                    "params:model_training",
                    "params:profit",
                ],
                outputs="evaluation_metrics",
                name="cross_validate_node",
            ),
            Node(
                func=fit_customer_model,
                inputs=[
                    "test_snapshots",
                    "params:customer_table",
                    "params:model_training",
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
