"""The model_evaluation pipeline."""

from churn_pipeline.pipelines.model_evaluation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
