"""Member preprocessing and the map from output columns back to features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn_pipeline.models.preprocessing import (
    make_preprocessor,
    normalise_categories,
    source_features,
)

NUMERIC = ["logins_30d", "last_nps"]
CATEGORICAL = ["plan", "country"]


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "logins_30d": [10.0, 0.0, 25.0, 4.0],
            "last_nps": [9.0, np.nan, 3.0, np.nan],
            "plan": ["pro", "basic", "pro", "a=b"],
            "country": ["US", "DE", "US", "FR"],
            "account_id": ["A1", "A2", "A3", "A4"],
        }
    )


@pytest.mark.parametrize(
    ("kind", "expected_columns"),
    [
        (
            "linear",
            [
                "logins_30d",
                "last_nps",
                "missingindicator_last_nps",
                "plan=a=b",
                "plan=basic",
                "plan=pro",
                "country=de",
                "country=fr",
                "country=us",
            ],
        ),
        (
            "tree",
            [
                "logins_30d",
                "last_nps",
                "plan=a=b",
                "plan=basic",
                "plan=pro",
                "country=de",
                "country=fr",
                "country=us",
            ],
        ),
    ],
)
def test_source_features_fold_columns_back_to_features(
    frame: pd.DataFrame, kind: str, expected_columns: list[str]
) -> None:
    preprocessor = make_preprocessor(kind, NUMERIC, CATEGORICAL).fit(frame)

    columns = list(preprocessor.get_feature_names_out())
    sources = source_features(preprocessor)

    assert columns == expected_columns
    assert len(sources) == preprocessor.transform(frame).shape[1]
    expected_sources = [
        "last_nps" if c.startswith("missingindicator_") else c.split("=", 1)[0]
        for c in expected_columns
    ]
    assert sources == expected_sources
    # A category containing the separator still maps to its feature.
    assert sources[columns.index("plan=a=b")] == "plan"
    assert set(sources) == set(NUMERIC + CATEGORICAL)


def test_tree_preprocessing_passes_numbers_and_missing_values_through(
    frame: pd.DataFrame,
) -> None:
    transformed = make_preprocessor("tree", NUMERIC, CATEGORICAL).fit_transform(frame)

    np.testing.assert_array_equal(transformed[:, 0], frame["logins_30d"])
    np.testing.assert_array_equal(transformed[:, 1], frame["last_nps"])  # NaN kept


def test_linear_preprocessing_imputes_and_scales(frame: pd.DataFrame) -> None:
    transformed = make_preprocessor("linear", NUMERIC, CATEGORICAL).fit_transform(frame)

    scaled = transformed[:, :3]
    assert np.isfinite(transformed).all()
    np.testing.assert_allclose(scaled.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(scaled.std(axis=0), 1.0)
    # The (scaled) missing-value indicator marks the accounts without an NPS.
    np.testing.assert_array_equal(transformed[:, 2] > 0, frame["last_nps"].isna())
    # Imputed with the median, which is also the mean of 9 and 3: scaled to 0.
    np.testing.assert_allclose(transformed[[1, 3], 1], 0.0, atol=1e-12)


@pytest.mark.parametrize("kind", ["linear", "tree"])
def test_unseen_category_encodes_as_all_zero(frame: pd.DataFrame, kind: str) -> None:
    preprocessor = make_preprocessor(kind, NUMERIC, CATEGORICAL).fit(frame)
    new = frame.head(1).assign(plan="ultimate", country="JP")

    transformed = preprocessor.transform(new)

    one_hot = [
        i for i, s in enumerate(source_features(preprocessor)) if s in CATEGORICAL
    ]
    np.testing.assert_array_equal(transformed[0, one_hot], 0.0)


@pytest.mark.parametrize("kind", ["forest", "Linear", ""])
def test_unknown_kind_lists_allowed(kind: str) -> None:
    with pytest.raises(ValueError, match=r"allowed: \['linear', 'tree'\]") as error:
        make_preprocessor(kind, NUMERIC, CATEGORICAL)  # type: ignore[arg-type]

    assert repr(kind) in str(error.value)


@pytest.mark.parametrize(
    # full-width letters, as some East Asian keyboards type them
    "spelling",
    ["US", "us", " US", "Us ", "\uff35\uff33"],
)
def test_category_spellings_are_one_category(frame, spelling):
    preprocessor = make_preprocessor("tree", NUMERIC, CATEGORICAL).fit(frame)
    respelled = frame.assign(country=frame["country"].replace("US", spelling))

    np.testing.assert_array_equal(
        preprocessor.transform(respelled), preprocessor.transform(frame)
    )


def test_normalise_categories_keeps_missing_values():
    frame = pd.DataFrame({"plan": [" Pro  Plus ", None, np.nan]})

    normalised = normalise_categories(frame)

    assert normalised["plan"].iloc[0] == "pro plus"
    assert normalised["plan"].iloc[1:].isna().all()
