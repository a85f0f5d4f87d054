"""The ingestion pipeline: validate source tables, derive the contract's tables."""

from kedro.pipeline import Node, Pipeline

from churn_pipeline.pipelines.ingestion import nodes


def create_pipeline(**kwargs: object) -> Pipeline:
    """Create the ingestion pipeline."""
    return Pipeline(
        [
            *_validation_nodes(),
            Node(
                func=nodes.derive_events,
                inputs=[
                    "subscriptions",
                    "churn_events",
                    "params:ingestion",
                    "params:data_validation",
                ],
                outputs=["raw_subscription_events", "event_derivation"],
                name="derive_events_node",
            ),
            Node(
                func=nodes.derive_usage,
                inputs=["usage_events", "subscriptions", "params:ingestion"],
                outputs="raw_usage",
                name="derive_usage_node",
            ),
            Node(
                func=nodes.complete_accounts,
                inputs=["source_accounts", "subscriptions", "params:data_validation"],
                outputs=["raw_accounts", "accounts_derivation"],
                name="complete_accounts_node",
            ),
            Node(
                func=nodes.summarise_ingestion,
                inputs=[
                    "event_derivation",
                    "accounts_derivation",
                    "subscriptions_validation",
                    "churn_events_validation",
                    "usage_events_validation",
                ],
                outputs=["ingestion_report", "ingestion_metrics"],
                name="summarise_ingestion_node",
            ),
        ]
    )


def _validation_nodes() -> list[Node]:
    """The source tables validated: accepted rows, rejected rows, a report each."""
    params = ["params:ingestion", "params:data_validation"]
    return [
        Node(
            func=nodes.source_table_validator("subscriptions"),
            inputs=["source_subscriptions", *params],
            outputs=[
                "subscriptions",
                "rejected_subscriptions",
                "subscriptions_validation",
            ],
            name="validate_subscriptions_node",
        ),
        Node(
            func=nodes.validate_churn_events,
            inputs=["source_churn_events", *params],
            outputs=[
                "churn_events",
                "rejected_churn_events",
                "churn_events_validation",
            ],
            name="validate_churn_events_node",
        ),
        Node(
            func=nodes.validate_usage_events,
            inputs=[
                "source_usage_events",
                "subscriptions",
                "rejected_subscriptions",
                *params,
            ],
            outputs=[
                "usage_events",
                "rejected_usage_events",
                "usage_events_validation",
            ],
            name="validate_usage_events_node",
        ),
    ]
