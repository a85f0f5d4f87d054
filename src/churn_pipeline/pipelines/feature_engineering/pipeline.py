"""The feature_engineering pipeline: spine, one node per source, join."""

from kedro.pipeline import Node, Pipeline

from churn_pipeline.pipelines.feature_engineering.nodes import (
    build_account_features,
    build_billing_features,
    build_nps_features,
    build_spine,
    build_ticket_features,
    build_usage_features,
    join_features,
)


def create_pipeline(**kwargs: object) -> Pipeline:
    """Create the feature_engineering pipeline."""
    return Pipeline(
        [
            Node(
                func=build_spine,
                inputs=[
                    "accounts",
                    "subscription_events",
                    "usage",
                    "invoices",
                    "params:feature_engineering",
                ],
                outputs="spine",
                name="build_spine_node",
            ),
            *_source_nodes(),
            Node(
                func=join_features,
                inputs=[
                    "spine",
                    "account_features",
                    "usage_features",
                    "ticket_features",
                    "billing_features",
                    "nps_features",
                    "params:feature_engineering",
                ],
                outputs="model_input_table",
                name="join_features_node",
            ),
        ]
    )


def _source_nodes() -> list[Node]:
    """One node per source: its features for every spine row."""
    return [
        Node(
            func=build_account_features,
            inputs=[
                "spine",
                "accounts",
                "subscription_events",
                "params:feature_engineering",
            ],
            outputs="account_features",
            name="build_account_features_node",
        ),
        Node(
            func=build_usage_features,
            inputs=[
                "spine",
                "usage",
                "accounts",
                "account_features",
                "params:feature_engineering",
            ],
            outputs="usage_features",
            name="build_usage_features_node",
        ),
        Node(
            func=build_ticket_features,
            inputs=["spine", "tickets", "params:feature_engineering"],
            outputs="ticket_features",
            name="build_ticket_features_node",
        ),
        Node(
            func=build_billing_features,
            inputs=["spine", "invoices", "params:feature_engineering"],
            outputs="billing_features",
            name="build_billing_features_node",
        ),
        Node(
            func=build_nps_features,
            inputs=["spine", "nps_responses", "params:feature_engineering"],
            outputs="nps_features",
            name="build_nps_features_node",
        ),
    ]
