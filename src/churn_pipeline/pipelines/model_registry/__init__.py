"""The model_registry pipeline."""

from churn_pipeline.pipelines.model_registry.pipeline import create_pipeline

__all__ = ["create_pipeline"]
