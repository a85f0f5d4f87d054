"""Validation of the raw tables at the pipeline's input boundary."""

from churn_pipeline.validation.report import DataValidationError
from churn_pipeline.validation.schemas import RAW_TABLES, build_schema
from churn_pipeline.validation.validate import validate_table

__all__ = ["RAW_TABLES", "DataValidationError", "build_schema", "validate_table"]
