"""The demo_data pipeline."""

from churn_pipeline.pipelines.demo_data.pipeline import create_pipeline

__all__ = ["create_pipeline"]
