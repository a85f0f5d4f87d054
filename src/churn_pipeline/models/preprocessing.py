"""Per-member preprocessing, with a map from output columns back to features."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from churn_pipeline.models.columns import is_missing

MemberKind = Literal["tree", "linear"]
_ONE_HOT_SEPARATOR = "="
_MISSING_PREFIX = "missingindicator_"


def _one_hot_name(feature: str, category: object) -> str:
    return f"{feature}{_ONE_HOT_SEPARATOR}{category}"


def normalise_category(value: object) -> str | None:
    """One spelling per category: Unicode NFKC, trimmed, single spaces, casefolded.

    "US", " us" and "Us" are one country to the model, whichever way a source
    system or an API caller writes them. Missing values (None, NaN, NA) give
    ``None``.
    """
    if is_missing(value):
        return None
    return _normalised_text(str(value))


@functools.lru_cache(maxsize=65536)
def _normalised_text(text: str) -> str:
    # str.split() without arguments trims and splits on any Unicode whitespace.
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def normalise_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`normalise_category` on every value; missing values become NaN."""

    def normalised(column: pd.Series) -> pd.Series:
        values = [normalise_category(value) for value in column.to_numpy()]
        return pd.Series(
            [np.nan if value is None else value for value in values],
            index=column.index,
            dtype=object,
        )

    return pd.DataFrame(frame).apply(normalised)


def make_preprocessor(
    kind: MemberKind,
    numeric: Sequence[str],
    categorical: Sequence[str],
) -> ColumnTransformer:
    """Build the preprocessing a member needs.

    Trees take numbers as they are (XGBoost routes missing values itself); the
    linear model gets median imputation with missing-value indicators and
    standard scaling. Both one-hot encode categories, after
    :func:`normalise_categories`, and ignore unseen ones, so a new plan at
    serving time scores instead of failing.

    Args:
        kind: ``tree`` or ``linear``.
        numeric: Numeric feature columns.
        categorical: Categorical feature columns.

    Returns:
        An unfitted ``ColumnTransformer``.

    Raises:
        ValueError: If ``kind`` is unknown.
    """
    one_hot = OneHotEncoder(
        handle_unknown="ignore",
        sparse_output=False,
        feature_name_combiner=_one_hot_name,
    )
    if kind == "tree":
        numeric_step: object = "passthrough"
    elif kind == "linear":
        numeric_step = make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
        )
    else:
        raise ValueError(f"Unknown member kind {kind!r}; allowed: ['linear', 'tree']")
    return ColumnTransformer(
        [
            ("num", numeric_step, list(numeric)),
            (
                "cat",
                make_pipeline(
                    FunctionTransformer(
                        normalise_categories, feature_names_out="one-to-one"
                    ),
                    one_hot,
                ),
                list(categorical),
            ),
        ],
        verbose_feature_names_out=False,
    )


def source_features(preprocessor: ColumnTransformer) -> list[str]:
    """Name the input feature behind each output column of a fitted preprocessor.

    One-hot columns and missing-value indicators map to the feature they encode,
    so explanations can be folded back to features a person knows.
    """
    return [
        str(name).removeprefix(_MISSING_PREFIX).split(_ONE_HOT_SEPARATOR, 1)[0]
        for name in preprocessor.get_feature_names_out()
    ]
