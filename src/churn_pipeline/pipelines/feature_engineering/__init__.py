"""Point-in-time features and labels at monthly as-of dates."""

from churn_pipeline.pipelines.feature_engineering.pipeline import create_pipeline

__all__ = ["create_pipeline"]
