"""The model_evaluation pipeline."""

from kedro.pipeline import Node, Pipeline

from churn_pipeline.pipelines.model_evaluation.nodes import (
    backtest_ensemble,
    collect_metrics,
    evaluate_model,
    log_backtest_runs,
)


def create_pipeline(**kwargs: object) -> Pipeline:
    """Create the model_evaluation pipeline."""
    return Pipeline(
        [
            Node(
                func=evaluate_model,
                inputs=[
                    "churn_model",
                    "train_snapshots",
                    "test_snapshots",
                    "params:profit",
                ],
                outputs=[
                    "test_metrics",
                    "roc_curve_plot",
                    "profit_curve_plot",
                    "calibration_plot",
                    "gains_lift_plot",
                    "score_distribution_plot",
                ],
                name="evaluate_model_node",
            ),
            Node(
                func=backtest_ensemble,
                inputs=[
                    "model_input_table",
                    "params:model_training",
                    "params:model_evaluation",
                    "params:profit",
                    "validation_report",
                    "tuned_params",
                ],
                outputs=[
                    "backtest_results",
                    "backtest_metrics",
                    "backtest_comparison",
                    "backtest_plot",
                ],
                name="backtest_ensemble_node",
            ),
            Node(
                func=collect_metrics,
                inputs=["test_metrics", "backtest_metrics"],
                outputs="evaluation_metrics",
                name="collect_metrics_node",
            ),
            Node(
                func=log_backtest_runs,
                inputs="backtest_results",
                outputs=None,
                name="log_backtest_runs_node",
            ),
        ]
    )
