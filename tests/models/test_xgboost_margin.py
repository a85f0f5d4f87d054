"""XGBoost margins summed in float64 from XGBoost's own leaf assignments."""

from __future__ import annotations

import numpy as np
import pytest
import shap
from xgboost import XGBClassifier, XGBRegressor

from churn_pipeline.models.xgboost_margin import LeafValues


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    X = rng.normal(size=(2000, 6)) * [1, 10, 100, 1, 1, 1000]
    X[rng.random(X.shape) < 0.05] = np.nan  # missing values take default branches
    logit = -3.0 + X[:, 0] + 0.1 * np.nan_to_num(X[:, 1])
    y = (rng.random(2000) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


@pytest.fixture(scope="module")
def model(data) -> XGBClassifier:
    X, y = data
    return XGBClassifier(n_estimators=150, max_depth=5, n_jobs=1).fit(X, y)


def test_margin_is_xgboosts_own_up_to_float32_rounding(model, data):
    X, _ = data

    margin = LeafValues.of(model).margin(X)

    float32 = model.predict(X, output_margin=True)
    np.testing.assert_allclose(margin, float32, rtol=2e-6, atol=1e-6)
    assert margin.dtype == np.float64


def test_tree_shap_adds_up_to_the_float64_margin_closer(model, data):
    """TreeSHAP reads XGBoost's float32 covers, so it is exact only to about 1e-7
    relative; against the float32 margin the error is several times larger."""
    X, _ = data
    explainer = shap.TreeExplainer(model)

    values = explainer.shap_values(X)

    total = float(np.ravel(explainer.expected_value)[0]) + values.sum(axis=1)
    margin = LeafValues.of(model).margin(X)
    np.testing.assert_allclose(total, margin, rtol=1e-6, atol=1e-6)
    float32_error = np.abs(total - model.predict(X, output_margin=True)).max()
    assert np.abs(total - margin).max() < float32_error / 2


def test_rows_reach_the_leaves_xgboost_routes_them_to(model, data):
    X, _ = data
    trees = LeafValues.of(model)
    # Values exactly at split points and just either side of them (in float32),
    # where "<" versus "<=" or a float64 comparison would route differently.
    splits = trees.threshold[np.isnan(trees.values)]  # split nodes
    at = np.resize(splits, 150)
    below = np.nextafter(at, np.float32(-np.inf))
    above = np.nextafter(at, np.float32(np.inf))
    near = np.concatenate([below, at, above]).astype(np.float64)
    at_split = np.repeat(X[:1], len(near), axis=0)
    for column in range(X.shape[1]):
        at_split[:, column] = np.roll(near, column)
    probe = np.vstack([X, at_split])

    np.testing.assert_array_equal(trees.leaves(probe), model.apply(probe))


def test_only_binary_logistic_models(data):
    X, y = data
    regressor = XGBRegressor(n_estimators=5).fit(X, y.astype(float))

    with pytest.raises(ValueError, match="binary:logistic"):
        LeafValues.of(regressor)
