"""What a fitted ensemble keeps: no training rows, feature lists, fitted checks."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from tests.models import synthetic

from churn_pipeline.evaluation.snapshots import Share, Snapshots, weights_of
from churn_pipeline.models import ChurnEnsemble, ChurnExplainer

N_ACCOUNTS = 150  # per snapshot; the larger fit has four times as many


def _fit(n_accounts: int) -> tuple[ChurnEnsemble, pd.DataFrame]:
    table = synthetic.make_snapshots(synthetic.FIT_DATES, n_accounts, seed=3)
    return synthetic.fit(synthetic.make_model(), table), table


@pytest.fixture(scope="module")
def small_and_large() -> tuple[tuple[ChurnEnsemble, pd.DataFrame], ...]:
    return _fit(N_ACCOUNTS), _fit(4 * N_ACCOUNTS)


def _row_counts(value: Any, seen: set[int], depth: int = 0) -> list[int]:
    """Leading dimension of every array and table reachable from ``value``."""
    if id(value) in seen or depth > 12:
        return []
    seen.add(id(value))
    if isinstance(value, np.ndarray | pd.DataFrame | pd.Series | pd.Index):
        return [len(value)] if np.ndim(value) else []
    if isinstance(value, dict):
        children = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset):
        children = list(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        children = [getattr(value, f.name) for f in dataclasses.fields(value)]
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        children = list(vars(value).values())
    else:
        return []
    return [n for child in children for n in _row_counts(child, seen, depth + 1)]


def test_a_pickled_model_does_not_grow_with_the_training_rows(
    small_and_large: tuple[tuple[ChurnEnsemble, pd.DataFrame], ...],
) -> None:
    (small, small_rows), (large, large_rows) = small_and_large
    assert len(large_rows) == 4 * len(small_rows)

    ratio = len(pickle.dumps(large)) / len(pickle.dumps(small))

    # Kept rows would grow the pickle toward 4x; trees of a fixed size do not.
    assert ratio < 1.25, f"4x the rows gave a {ratio:.2f}x larger pickle"


def test_no_fitted_attribute_holds_the_training_rows(
    small_and_large: tuple[tuple[ChurnEnsemble, pd.DataFrame], ...],
) -> None:
    for model, table in small_and_large:
        state = model.__getstate__()  # what a registered model pickles
        counts = _row_counts(state, set())
        assert counts, "the walk found no arrays at all"
        # Member-fit rows are over half the table; no kept array comes near.
        assert max(counts) < len(table) // 4, (
            f"an attribute holds {max(counts)} rows of {len(table)}"
        )
        assert "_background_" not in state


def test_a_weighted_sample_of_more_rows_gives_the_same_size_of_model(
    small_and_large: tuple[tuple[ChurnEnsemble, pd.DataFrame], ...],
) -> None:
    (small, _), (_, large_rows) = small_and_large
    # What the pipeline fits above sampling.max_training_rows: every churner,
    # a weighted quarter of the non-churners, numbers as float32.
    share = Share(non_churners=0.25, seed=small.random_state)
    sample = Snapshots(large_rows).read(share=share, float32=True)
    model = synthetic.fit(synthetic.make_model(), sample, weights_of(sample))

    ratio = len(pickle.dumps(model)) / len(pickle.dumps(small))

    assert ratio < 1.25, f"a weighted sample gave a {ratio:.2f}x larger pickle"
    counts = _row_counts(model.__getstate__(), set())
    assert max(counts) < len(sample) // 4
    assert all(
        means.shape == (route.design.n_columns,)
        for means, route in zip(
            model.background_means_.values(),
            model.member_routes.values(),
            strict=True,
        )
    )


def test_feature_lists_are_inferred_from_the_dtypes(
    fitted_model: ChurnEnsemble, holdout: pd.DataFrame
) -> None:
    table = synthetic.training_table()
    features = [*synthetic.NUMERIC_FEATURES, *synthetic.CATEGORICAL_FEATURES]
    # Dates and booleans beside the features: dates are left out, booleans are
    # categories, so only the feature columns go in here.
    model = synthetic.make_model(numeric_features=None, categorical_features=None)

    model.fit(table[features], table["label"], periods=table["as_of_date"])

    assert model.numeric_features is None  # parameters stay as given
    assert model.numeric_features_ == list(synthetic.NUMERIC_FEATURES)
    assert model.categorical_features_ == list(synthetic.CATEGORICAL_FEATURES)
    np.testing.assert_array_equal(
        model.predict_proba(holdout), fitted_model.predict_proba(holdout)
    )


def test_an_inferred_list_takes_the_columns_the_other_does_not_name() -> None:
    table = synthetic.training_table()
    model = synthetic.make_model(categorical_features=None, monotone_constraints=None)
    columns = [*synthetic.NUMERIC_FEATURES, *synthetic.CATEGORICAL_FEATURES]

    model.fit(
        table[[*columns, "as_of_date"]],
        table["label"],
        periods=table["as_of_date"],
    )

    assert model.categorical_features_ == list(synthetic.CATEGORICAL_FEATURES)
    assert "as_of_date" not in model.feature_names_in_


def test_a_feature_in_both_lists_is_refused() -> None:
    table = synthetic.training_table()
    model = synthetic.make_model(
        categorical_features=[*synthetic.CATEGORICAL_FEATURES, "tenure_days"]
    )

    with pytest.raises(ValueError, match=r"\['tenure_days'\] are in both"):
        synthetic.fit(model, table)


def test_an_unfitted_model_refuses_to_predict_or_explain(
    holdout: pd.DataFrame,
) -> None:
    model = synthetic.make_model()

    with pytest.raises(NotFittedError):
        model.predict_proba(holdout)
    with pytest.raises(NotFittedError):
        ChurnExplainer(model)
