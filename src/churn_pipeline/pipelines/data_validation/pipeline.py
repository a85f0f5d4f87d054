"""The data_validation pipeline: one node per raw table."""

from kedro.pipeline import Node, Pipeline

from churn_pipeline.pipelines.data_validation import nodes


def create_pipeline(**kwargs: object) -> Pipeline:
    """Create the data_validation pipeline."""
    related = ("subscription_events", "usage", "tickets", "invoices", "nps_responses")
    return Pipeline(
        [
            Node(
                func=nodes.validate_accounts,
                inputs=["raw_accounts", "params:data_validation"],
                outputs="accounts",
                name="validate_accounts_node",
            ),
            *[
                Node(
                    func=getattr(nodes, f"validate_{table}"),
                    inputs=[f"raw_{table}", "accounts", "params:data_validation"],
                    outputs=table,
                    name=f"validate_{table}_node",
                )
                for table in related
            ],
        ]
    )
