"""The scoring pipeline."""

from churn_pipeline.pipelines.scoring.pipeline import create_pipeline

__all__ = ["create_pipeline"]
