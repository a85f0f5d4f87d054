"""The numpy design matrices equal the fitted sklearn preprocessing, bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder

from churn_pipeline.models.design import (
    DesignMatrix,
    category_matrix,
    numeric_matrix,
)
from churn_pipeline.models.preprocessing import make_preprocessor

NUMERIC = ["logins_30d", "last_nps", "never_seen"]
CATEGORICAL = ["plan", "country"]
SPELLINGS = ["pro", " Pro", "basic", "BASIC ", "a=b", "\uff30\uff32\uff2f", None]
COUNTRIES = ["US", "us", "DE", "FR", None, np.nan]
# never_seen is entirely missing in fit on purpose: sklearn drops it and says so.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Skipping features without any observed values:UserWarning"
)


def _frame(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    logins = rng.poisson(12, n).astype(float)
    logins[rng.random(n) < 0.2] = np.nan
    nps = rng.integers(0, 11, n).astype(float)
    nps[rng.random(n) < 0.3] = np.nan
    return pd.DataFrame(
        {
            "logins_30d": logins,
            "last_nps": nps,
            "never_seen": np.full(n, np.nan),  # entirely missing in fit
            "plan": rng.choice(np.asarray(SPELLINGS, dtype=object), n),
            "country": rng.choice(np.asarray(COUNTRIES, dtype=object), n),
            "account_id": [f"A{i}" for i in range(n)],
        }
    )


@pytest.mark.parametrize("kind", ["linear", "tree"])
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_new=st.integers(1, 40))
def test_design_equals_the_fitted_transformer(kind: str, seed: int, n_new: int):
    preprocessor = make_preprocessor(kind, NUMERIC, CATEGORICAL).fit(_frame(seed, 60))
    new = _frame(seed + 1, n_new)
    # Values the fit never saw: a new plan, a missing value where none was.
    new.loc[0, "plan"] = "ultimate"
    new.loc[n_new - 1, "logins_30d"] = np.nan

    design = DesignMatrix.of(preprocessor)

    np.testing.assert_array_equal(
        design.transform_columns(new), preprocessor.transform(new)
    )
    assert design.n_columns == len(preprocessor.get_feature_names_out())


@pytest.mark.parametrize("kind", ["linear", "tree"])
def test_mapping_of_arrays_reads_like_the_frame(kind: str):
    frame = _frame(3, 50)
    design = DesignMatrix.of(make_preprocessor(kind, NUMERIC, CATEGORICAL).fit(frame))
    columns = {name: frame[name].to_numpy() for name in frame.columns}

    np.testing.assert_array_equal(
        design.transform_columns(columns), design.transform_columns(frame)
    )


def test_category_matrix_marks_missing_values():
    columns = {"plan": np.array([" Pro ", None, np.nan, pd.NA], dtype=object)}

    matrix = category_matrix(columns, ["plan"])

    assert matrix[:, 0].tolist() == [" Pro ", None, None, None]


def test_models_fitted_before_normalisation_read_categories_as_they_are():
    frame = _frame(5, 40)
    # One kind of missing value, as read from parquet: raw encoders would tell
    # None from NaN.
    frame[CATEGORICAL] = frame[CATEGORICAL].where(frame[CATEGORICAL].notna(), np.nan)
    preprocessor = make_preprocessor("tree", NUMERIC, CATEGORICAL)
    # The categorical block as it was before categories were normalised.
    preprocessor.transformers[1] = (
        "cat",
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
        CATEGORICAL,
    )
    preprocessor.fit(frame)
    new = frame.assign(country=frame["country"].replace("US", " us"))

    design = DesignMatrix.of(preprocessor)

    assert not design.normalise
    np.testing.assert_array_equal(
        design.transform_columns(new), preprocessor.transform(new)
    )


def test_numeric_matrix_names_a_column_that_is_not_numeric():
    columns = {"logins_30d": np.array(["ten"], dtype=object)}

    with pytest.raises(ValueError, match="'logins_30d' must be numeric"):
        numeric_matrix(columns, ["logins_30d"])


def test_nullable_numbers_read_as_nan():
    frame = pd.DataFrame({"x": pd.array([1.5, None], dtype="Float64")})

    np.testing.assert_array_equal(numeric_matrix(frame, ["x"]), [[1.5], [np.nan]])


def test_a_transformer_not_from_make_preprocessor_is_refused():
    other = ColumnTransformer([("scaled", "passthrough", ["x"])]).fit(
        pd.DataFrame({"x": [1.0, 2.0]})
    )

    with pytest.raises(ValueError, match="'num' and 'cat' blocks"):
        DesignMatrix.of(other)
