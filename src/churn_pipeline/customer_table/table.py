"""A one-row-per-customer table, as exported, into the model's layout.

Steps, all driven by the ``customer_table`` parameters: map names and values,
number the rows when there is no id column, check every named column exists,
read numbers and text alike whatever the file format typed them as, validate,
and find exact duplicate rows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from churn_pipeline.config.customer_table import CustomerTableParameters
from churn_pipeline.customer_table.folds import (
    DROP,
    DUPLICATE_RULE,
    GROUP,
    N_EXAMPLES,
    duplicate_copies,
    duplicate_groups,
)
from churn_pipeline.validation import (
    REJECTED_RULES_COLUMN,
    ValidationResult,
    validate_with_schema,
)
from churn_pipeline.validation.mapping import apply_mapping

logger = logging.getLogger(__name__)

TABLE = "customers"
# The key column made when ``id_column`` is null: 1-based data-row numbers.
ROW_NUMBER_COLUMN = "row_number"
_PARAMETERS_FILE = "conf/<env>/parameters_customer_table.yml"
_LISTS = ("numeric_columns", "categorical_columns", "drop_columns")


def number_rows(data: pd.DataFrame, id_column: str | None) -> tuple[pd.DataFrame, str]:
    """The table and its key column; rows are numbered when there is no id.

    Args:
        data: The (mapped) table, in file order.
        id_column: ``customer_table.id_column`` (``None``: number the rows).

    Returns:
        The table (a copy with ``row_number`` first when numbered) and the key.

    Raises:
        ValueError: If rows must be numbered but a column is called
            ``row_number`` already.
    """
    if id_column is not None:
        return data, id_column
    if ROW_NUMBER_COLUMN in data.columns:
        raise ValueError(
            f"customer_table.id_column is null, so rows get ids in a new column "
            f"{ROW_NUMBER_COLUMN!r}, but the table has a column of that name: set "
            f"customer_table.id_column: {ROW_NUMBER_COLUMN} in {_PARAMETERS_FILE} "
            f"if it is the id, or rename it with customer_table.mapping.columns"
        )
    numbered = data.reset_index(drop=True)
    numbers = (np.arange(len(numbered)) + 1).astype(str)
    numbered.insert(0, ROW_NUMBER_COLUMN, numbers)
    logger.info(
        "customer_table.id_column is null: ids are row numbers 1..%d of the input "
        "file (1 = the first row after the header)",
        len(numbered),
    )
    return numbered, ROW_NUMBER_COLUMN


def check_columns(data: pd.DataFrame, settings: CustomerTableParameters) -> None:
    """Every column the parameters name must be in the table.

    Raises:
        ValueError: Naming the parameter, the missing columns, the columns the
            table has and how to fix it.
    """
    named: list[tuple[str, list[str]]] = [
        ("label_column", [settings.label_column]),
        *[(key, list(getattr(settings, key))) for key in _LISTS],
    ]
    if settings.id_column is not None:
        named.insert(0, ("id_column", [settings.id_column]))
    problems = [
        f"customer_table.{key} names {missing}, which the table lacks"
        for key, columns in named
        if (missing := [c for c in columns if c not in data.columns])
    ]
    if not problems:
        return
    hint = (
        " Set customer_table.id_column: null if the table has no id column."
        if settings.id_column is not None and settings.id_column not in data.columns
        else ""
    )
    raise ValueError(
        f"Customer table lacks columns the parameters name: {'; '.join(problems)}. "
        f"The table has {list(data.columns)}. Fix the names in {_PARAMETERS_FILE} "
        f"(the --env you run), or rename the file's columns with "
        f"customer_table.mapping.columns.{hint}"
    )


def _text(value: Any) -> str:
    # Excel (or a CSV read without dtype: str) types 1 as 1.0; it is the text "1".
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def as_text(series: pd.Series) -> pd.Series:
    """Values as text, whatever the file format typed them as; missing stays.

    Args:
        series: A label, id or categorical column.

    Returns:
        An object column of ``str`` values and ``NaN`` where missing.
    """
    if pd.api.types.is_string_dtype(series) and series.map(type).eq(str).all():
        return series
    missing = series.isna()
    return series.astype(object).map(_text).where(~missing, np.nan)


def _blank_to_missing(data: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    # Exports often write a missing number as an empty or blank string; that is
    # "unknown", not a malformed value, so it must not reject the row.
    cleaned = data.copy()
    for column in columns:
        if cleaned[column].dtype == object:
            blank = cleaned[column].astype(str).str.strip().eq("")
            cleaned[column] = cleaned[column].mask(blank, np.nan)
    return cleaned


def customer_schema(settings: CustomerTableParameters, key: str) -> pa.DataFrameSchema:
    """The pandera schema: the key, the label's values, typed features."""
    label_values = [*settings.positive_labels, *settings.negative_labels]
    columns = {
        key: pa.Column(str, unique=True, report_duplicates="exclude_first"),
        settings.label_column: pa.Column(str, pa.Check.isin(label_values)),
        **{c: pa.Column(float, nullable=True) for c in settings.numeric_columns},
        **{c: pa.Column(str, nullable=True) for c in settings.categorical_columns},
        **{c: pa.Column(nullable=True) for c in settings.drop_columns},
    }
    return pa.DataFrameSchema(columns, name=TABLE, strict=True, coerce=True)


def readable_table(
    raw: pd.DataFrame, settings: CustomerTableParameters
) -> tuple[pd.DataFrame, str]:
    """Mapped, numbered, checked and typed-as-read: ready for the schema.

    Returns:
        The table and its key column.
    """
    mapping = settings.mapping.model_dump(exclude_defaults=True)
    data = apply_mapping(raw, mapping) if mapping else raw
    data, key = number_rows(data.reset_index(drop=True), settings.id_column)
    check_columns(data, settings)
    data = data.copy()
    for column in [key, settings.label_column, *settings.categorical_columns]:
        data[column] = as_text(data[column])
    if settings.blank_as_missing:
        data = _blank_to_missing(data, settings.numeric_columns)
    return data, key


def compared_columns(settings: CustomerTableParameters) -> list[str]:
    """What an exact duplicate is judged on: the features and the label."""
    return [
        *settings.numeric_columns,
        *settings.categorical_columns,
        settings.label_column,
    ]


def find_duplicates(
    accepted: pd.DataFrame, settings: CustomerTableParameters
) -> tuple[pd.Index, list[str]]:
    """Accepted rows that repeat an earlier one, and a few examples.

    Returns:
        Row labels of the copies after the first, and up to five
        ``"row 12 = row 5"`` examples (1-based input row numbers).
    """
    columns = compared_columns(settings)
    copies = duplicate_copies(accepted, columns)
    if not copies.any():
        return accepted.index[copies.to_numpy()], []
    groups = pd.Series(duplicate_groups(accepted, columns), index=accepted.index)
    first = pd.Series(accepted.index, index=accepted.index).groupby(groups).min()
    labels = accepted.index[copies.to_numpy()]
    examples = [
        f"row {label + 1} = row {first[groups[label]] + 1}"
        for label in labels[:N_EXAMPLES]
    ]
    return labels, examples


def reject_duplicates(
    result: ValidationResult, data: pd.DataFrame, copies: pd.Index
) -> ValidationResult:
    """Move the copies from accepted to rejected, rule ``duplicate_row``.

    Args:
        result: The schema validation's result.
        data: The validated input (row labels as in ``result.accepted``).
        copies: Row labels of the copies to reject.

    Returns:
        A new result; rows in = accepted + rejected still holds.
    """
    rejected = data.loc[copies].astype("string")
    rejected[REJECTED_RULES_COLUMN] = DUPLICATE_RULE
    counts = {**result.rule_counts, DUPLICATE_RULE: len(copies)}
    dropped = ValidationResult(
        table=result.table,
        accepted=result.accepted.drop(index=copies),
        rejected=pd.concat([result.rejected, rejected.reset_index(drop=True)]),
        rule_counts=dict(sorted(counts.items())),
    )
    if dropped.rows_in != result.rows_in:
        raise RuntimeError(f"Dropping duplicates of {TABLE!r} lost rows")
    return dropped


def _log_duplicates(n_copies: int, examples: list[str], mode: str) -> None:
    if n_copies == 0:
        logger.info("Customer table: no exact duplicate rows")
        return
    consequence = {
        DROP: "dropped (the first copy stays; rejected as duplicate_row)",
        GROUP: "kept; copies stay in one cross-validation fold (grouped folds)",
    }.get(
        mode,
        "kept with plain stratified folds: copies may fall on both sides of a fold, "
        "which flatters the CV; set customer_table.duplicates to group or drop",
    )
    logger.warning(
        "Customer table: %d row(s) repeat an earlier row exactly (features and "
        "label), e.g. %s; customer_table.duplicates is %s: %s",
        n_copies,
        ", ".join(examples),
        mode,
        consequence,
    )


def validate_customers(
    raw: pd.DataFrame, settings: CustomerTableParameters
) -> tuple[ValidationResult, str, dict[str, Any]]:
    """Validate the table and handle its exact duplicates.

    Returns:
        The result (copies rejected when ``duplicates`` is ``drop``), the key
        column, and the duplicate report (``mode``, ``duplicate_rows``,
        ``examples``).
    """
    data, key = readable_table(raw, settings)
    result = validate_with_schema(
        TABLE, data, customer_schema(settings, key), key=[key], mode=settings.mode
    )
    copies, examples = find_duplicates(result.accepted, settings)
    _log_duplicates(len(copies), examples, settings.duplicates)
    if settings.duplicates == DROP and len(copies):
        result = reject_duplicates(result, data, copies)
    duplicates = {
        "mode": settings.duplicates,
        "duplicate_rows": len(copies),
        "examples": examples,
    }
    return result, key, duplicates
