"""Validate one raw table against its schema and fail with a readable report."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import pandas as pd
import pandera.pandas as pa

from churn_pipeline.validation.report import (
    DataValidationError,
    summarise_failure_cases,
)
from churn_pipeline.validation.schemas import RAW_TABLES, build_schema

logger = logging.getLogger(__name__)


def validate_table(
    table: str,
    data: pd.DataFrame,
    *,
    allowed_values: Mapping[str, Sequence[str]],
    usage_columns: Sequence[str] = (),
    accounts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Validate and coerce a raw table, collecting every failure before raising.

    Args:
        table: Name of the raw table (a key of ``RAW_TABLES``).
        data: The raw rows.
        allowed_values: Allowed values per categorical field.
        usage_columns: Count columns of the usage table.
        accounts: Validated accounts, for foreign keys and signup-date order.

    Returns:
        The table with the contract's dtypes.

    Raises:
        DataValidationError: Naming the table, each broken rule, the column, the
            number of failing rows and a sample of them.
    """
    schema = build_schema(
        table,
        allowed_values=allowed_values,
        usage_columns=usage_columns,
        accounts=accounts,
    )
    try:
        validated = schema.validate(data, lazy=True)
    except pa.errors.SchemaErrors as errors:
        key = RAW_TABLES[table]
        failures = summarise_failure_cases(
            errors.failure_cases, data, key[0] if len(key) == 1 else None
        )
        raise DataValidationError(table, failures, len(data)) from None
    logger.info("Raw table '%s' passed validation: %d rows", table, len(validated))
    return validated
