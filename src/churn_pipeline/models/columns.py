"""A table as scoring reads it: a DataFrame, or a mapping of equal-length arrays.

Batch scoring holds DataFrames; the API builds one small array per field straight
from the validated request, which skips building a DataFrame (about a millisecond
per request). Scoring code reads either through these helpers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

Columns: TypeAlias = pd.DataFrame | Mapping[str, Any]


def column_values(columns: Columns, name: str) -> np.ndarray:
    """One column as a numpy array, in row order."""
    column = columns[name]
    return column.to_numpy() if isinstance(column, pd.Series) else np.asarray(column)


def column_names(columns: Columns) -> list[str]:
    """The column names."""
    return [str(name) for name in columns]


def n_rows(columns: Columns) -> int:
    """Number of rows."""
    if isinstance(columns, pd.DataFrame):
        return len(columns)
    return len(next(iter(columns.values()))) if columns else 0


def is_missing(value: object) -> bool:
    """Whether one value is missing: None, pandas' NA or a float NaN."""
    return (
        value is None
        or value is pd.NA
        or (isinstance(value, float) and math.isnan(value))
    )
