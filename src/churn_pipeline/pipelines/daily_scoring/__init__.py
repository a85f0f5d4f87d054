"""The daily_scoring pipeline."""

from churn_pipeline.pipelines.daily_scoring.pipeline import create_pipeline

__all__ = ["create_pipeline"]
