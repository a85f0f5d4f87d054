"""The event_history input kind: the contract's six tables to the daily scores."""

from churn_pipeline.pipelines.event_history.pipeline import create_pipeline

__all__ = ["create_pipeline"]
