"""The model_training pipeline."""

from churn_pipeline.pipelines.model_training.pipeline import create_pipeline

__all__ = ["create_pipeline"]
