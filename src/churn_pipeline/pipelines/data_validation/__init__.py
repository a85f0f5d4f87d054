"""Validate the raw tables against the data contract."""

from churn_pipeline.pipelines.data_validation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
