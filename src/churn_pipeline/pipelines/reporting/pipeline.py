"""The churn analytics report pipeline."""

from kedro.pipeline import Node, Pipeline

from churn_pipeline.pipelines.reporting.nodes import (
    REPORT_FIGURES,
    build_report,
    summarise_churn,
    summarise_nps,
    value_accounts,
)


def create_pipeline(**kwargs: object) -> Pipeline:
    """Create the reporting pipeline (part of the default run)."""
    return Pipeline(
        [
            Node(
                func=summarise_churn,
                inputs=[
                    "accounts",
                    "subscription_events",
                    "scoring_snapshots",
                    "params:reporting",
                ],
                outputs=[
                    "monthly_churn",
                    "churn_by_plan",
                    "churn_by_tenure",
                    "cohort_retention",
                ],
                name="summarise_churn_node",
            ),
            Node(
                func=summarise_nps,
                inputs=["nps_responses", "scoring_snapshots", "params:reporting"],
                outputs="nps_distribution",
                name="summarise_nps_node",
            ),
            Node(
                func=value_accounts,
                # The scored list's own CLV: report, list and API agree.
                inputs=[
                    "scoring_snapshots",
                    "churn_scores",
                    "test_snapshots",
                    "params:scoring",
                    "params:profit",
                ],
                outputs=["account_values", "clv_basis_note"],
                name="value_accounts_node",
            ),
            Node(
                func=build_report,
                inputs=[
                    "monthly_churn",
                    "churn_by_plan",
                    "churn_by_tenure",
                    "cohort_retention",
                    "nps_distribution",
                    "account_values",
                    "clv_basis_note",
                    "scoring_explanation",
                    "scoring_snapshots",
                    "churn_scores",
                    "params:reporting",
                ],
                outputs=["churn_report", *REPORT_FIGURES],
                name="build_report_node",
            ),
        ]
    )
