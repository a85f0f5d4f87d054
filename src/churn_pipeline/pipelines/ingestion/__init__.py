"""The ingestion pipeline: reshape foreign source tables onto the contract."""

from churn_pipeline.pipelines.ingestion.pipeline import create_pipeline

__all__ = ["create_pipeline"]
