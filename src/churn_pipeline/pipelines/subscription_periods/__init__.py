"""The subscription_periods input kind: source tables reshaped, then event_history."""

from churn_pipeline.pipelines.subscription_periods.pipeline import create_pipeline

__all__ = ["create_pipeline"]
