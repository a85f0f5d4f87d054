"""Validation of the raw tables at the pipeline's input boundary."""

from churn_pipeline.validation.report import DataValidationError
from churn_pipeline.validation.schemas import RAW_TABLES, REQUIRED_TABLES, build_schema
from churn_pipeline.validation.validate import (
    MODES,
    REJECTED_RULES_COLUMN,
    ValidationResult,
    resolve_max_date,
    validate_table,
    validate_with_schema,
)

__all__ = [
    "MODES",
    "RAW_TABLES",
    "REJECTED_RULES_COLUMN",
    "REQUIRED_TABLES",
    "DataValidationError",
    "ValidationResult",
    "build_schema",
    "resolve_max_date",
    "validate_table",
    "validate_with_schema",
]
