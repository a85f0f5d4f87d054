"""The customer_table pipeline."""

from churn_pipeline.pipelines.customer_table.pipeline import create_pipeline

__all__ = ["create_pipeline"]
