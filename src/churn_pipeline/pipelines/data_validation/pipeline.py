"""The data_validation pipeline: one node per raw table, then the accounting."""

from kedro.pipeline import Node, Pipeline

from churn_pipeline.pipelines.data_validation import nodes
from churn_pipeline.validation import RAW_TABLES


def create_pipeline(**kwargs: object) -> Pipeline:
    """Create the data_validation pipeline."""
    related = [table for table in RAW_TABLES if table != "accounts"]
    return Pipeline(
        [
            Node(
                func=nodes.validate_accounts,
                inputs=["raw_accounts", "params:data_validation"],
                outputs=["accounts", "rejected_accounts", "accounts_validation"],
                name="validate_accounts_node",
            ),
            *[
                Node(
                    func=nodes.related_table_validator(table),
                    inputs=[
                        f"raw_{table}",
                        "accounts",
                        "rejected_accounts",
                        "params:data_validation",
                    ],
                    outputs=[table, f"rejected_{table}", f"{table}_validation"],
                    name=f"validate_{table}_node",
                )
                for table in related
            ],
            Node(
                func=nodes.summarise_validation,
                inputs=[f"{table}_validation" for table in RAW_TABLES],
                outputs="validation_report",
                name="summarise_validation_node",
            ),
        ]
    )
