"""Numeric and categorical feature lists, inferred from dtypes when not given."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pandas as pd
from pandas.api import types

logger = logging.getLogger(__name__)


def infer_feature_lists(
    X: pd.DataFrame,
    numeric: Sequence[str] | None,
    categorical: Sequence[str] | None,
) -> tuple[list[str], list[str]]:
    """The numeric and categorical features: as given, or read off ``X``'s dtypes.

    A list left ``None`` takes the columns of ``X`` not in the other list whose
    dtype fits: numbers (not booleans) for numeric features; text, category and
    booleans for categorical ones. Columns of other dtypes (dates, durations)
    are left out, and logged.

    Args:
        X: The table ``fit`` receives.
        numeric: Numeric feature names, or ``None`` to infer them.
        categorical: Categorical feature names, or ``None`` to infer them.

    Returns:
        ``(numeric, categorical)`` as lists, in ``X``'s column order when inferred.

    Raises:
        ValueError: If a name is in both lists, or nothing is left to fit on.
    """
    given_numeric = None if numeric is None else [str(name) for name in numeric]
    given_categorical = (
        None if categorical is None else [str(name) for name in categorical]
    )
    both = sorted(set(given_numeric or ()) & set(given_categorical or ()))
    if both:
        raise ValueError(
            f"Features {both} are in both numeric_features and categorical_features"
        )
    if given_numeric is not None and given_categorical is not None:
        return given_numeric, given_categorical
    named = set(given_numeric or ()) | set(given_categorical or ())
    rest = [str(column) for column in X.columns if str(column) not in named]
    inferred_numeric = [c for c in rest if _is_numeric(X[c])]
    inferred_categorical = [c for c in rest if _is_categorical(X[c])]
    numeric_out = inferred_numeric if given_numeric is None else given_numeric
    categorical_out = (
        inferred_categorical if given_categorical is None else given_categorical
    )
    left_out = [c for c in rest if c not in numeric_out and c not in categorical_out]
    if left_out:
        logger.info(
            "Columns not used as features: %s",
            {column: str(X[column].dtype) for column in left_out},
        )
    if not numeric_out and not categorical_out:
        raise ValueError(
            "No feature columns: X has no numeric, text, category or boolean "
            "columns; pass numeric_features or categorical_features"
        )
    return numeric_out, categorical_out


def _is_numeric(column: pd.Series) -> bool:
    return types.is_numeric_dtype(column) and not types.is_bool_dtype(column)


def _is_categorical(column: pd.Series) -> bool:
    return (
        types.is_object_dtype(column)
        or types.is_string_dtype(column)
        or isinstance(column.dtype, pd.CategoricalDtype)
        or types.is_bool_dtype(column)
    )
