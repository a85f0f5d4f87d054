"""The explanation pipeline."""

from churn_pipeline.pipelines.explanation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
