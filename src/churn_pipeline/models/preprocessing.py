"""Per-member preprocessing, with a map from output columns back to features."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

MemberKind = Literal["tree", "linear"]
_ONE_HOT_SEPARATOR = "="
_MISSING_PREFIX = "missingindicator_"


def _one_hot_name(feature: str, category: object) -> str:
    return f"{feature}{_ONE_HOT_SEPARATOR}{category}"


def normalise_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """One spelling per category: Unicode NFKC, trimmed, single spaces, casefolded.

    "US", " us" and "Us" are one country to the model, whichever way a source
    system or an API caller writes them; missing values stay missing.
    """
    frame = pd.DataFrame(frame)
    return frame.apply(
        lambda column: (
            column.astype("string")
            .str.normalize("NFKC")
            .str.strip()
            .str.replace(r"\s+", " ", regex=True)
            .str.casefold()
            .astype(object)
            .where(column.notna(), np.nan)
        )
    )


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
