"""Tabulated tree SHAP equals the libraries' own TreeSHAP and adds up exactly."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost
from lightgbm import LGBMClassifier
from xgboost import XGBClassifier

from churn_pipeline.models.tree_shap import MAX_TABLE_VALUES, TreeTables
from churn_pipeline.models.xgboost_margin import LeafValues


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    X = rng.normal(size=(1500, 7)) * [1, 10, 100, 1, 1, 1000, 1]
    X[:, 6] = rng.integers(0, 3, 1500)  # a column with many exact zeros
    X[rng.random(X.shape) < 0.05] = np.nan
    logit = -2.5 + X[:, 0] + 0.1 * np.nan_to_num(X[:, 1]) - 0.5 * np.nan_to_num(X[:, 6])
    y = (rng.random(1500) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


def _probe(X: np.ndarray) -> np.ndarray:
    """Unseen rows, with missing values where training had none."""
    rng = np.random.default_rng(5)
    probe = X[rng.choice(len(X), 300)].copy()
    probe[rng.random(probe.shape) < 0.1] = np.nan
    probe[:20, 6] = 0.0
    return probe


@pytest.mark.parametrize("max_depth", [1, 3, 6])
def test_xgboost_values_are_xgboosts_own(data, max_depth):
    X, y = data
    model = XGBClassifier(n_estimators=80, max_depth=max_depth, n_jobs=1).fit(X, y)
    probe = _probe(X)

    tables = TreeTables.of(model, X.shape[1])
    values = tables.shap_values(probe)

    library = model.get_booster().predict(xgboost.DMatrix(probe), pred_contribs=True)
    # XGBoost accumulates in float32; the tables in float64.
    np.testing.assert_allclose(values, library[:, :-1], atol=2e-5)
    assert tables.base_value == pytest.approx(float(library[0, -1]), abs=2e-5)
    # Exactly additive against XGBoost's leaves summed in float64.
    margin = LeafValues.of(model).margin(probe)
    np.testing.assert_allclose(
        tables.base_value + values.sum(axis=1), margin, rtol=0, atol=1e-10
    )


@pytest.mark.parametrize(
    "params",
    [
        {},  # missing values seen in training: NaN goes the default way
        {"zero_as_missing": True},  # zeros and NaN go the default way
        {"use_missing": False},  # NaN is read as 0.0
    ],
    ids=["nan", "zero", "none"],
)
def test_lightgbm_values_are_lightgbms_own(data, params):
    X, y = data
    model = LGBMClassifier(
        n_estimators=60, num_leaves=15, max_depth=5, verbose=-1, n_jobs=1, **params
    ).fit(X, y)
    probe = _probe(X)

    tables = TreeTables.of(model, X.shape[1])
    values = tables.shap_values(probe)

    library = model.booster_.predict(probe, pred_contrib=True)
    np.testing.assert_allclose(values, library[:, :-1], rtol=1e-9, atol=1e-12)
    assert tables.base_value == pytest.approx(float(library[0, -1]), abs=1e-12)
    raw = model.booster_.predict(probe, raw_score=True)
    np.testing.assert_allclose(
        tables.base_value + values.sum(axis=1), raw, rtol=0, atol=1e-10
    )


def test_lightgbm_without_missing_values_in_training(data):
    X, y = data
    clean = np.nan_to_num(X)  # missing_type None: NaN at scoring time counts as 0
    model = LGBMClassifier(n_estimators=30, max_depth=4, verbose=-1, n_jobs=1).fit(
        clean, y
    )
    probe = _probe(X)

    values = TreeTables.of(model, X.shape[1]).shap_values(probe)

    library = model.booster_.predict(probe, pred_contrib=True)
    np.testing.assert_allclose(values, library[:, :-1], rtol=1e-9, atol=1e-12)


def test_single_leaf_trees_only_move_the_base_value():
    X = np.zeros((50, 2))
    y = np.r_[np.zeros(45), np.ones(5)].astype(int)
    model = LGBMClassifier(n_estimators=3, verbose=-1, n_jobs=1).fit(X, y)

    tables = TreeTables.of(model, 2)

    np.testing.assert_array_equal(tables.shap_values(X[:3]), 0.0)
    assert tables.base_value == pytest.approx(
        float(model.booster_.predict(X[:1], raw_score=True)[0])
    )


def test_trees_too_deep_to_tabulate_are_refused(data, monkeypatch):
    X, y = data
    model = LGBMClassifier(n_estimators=5, num_leaves=31, verbose=-1, n_jobs=1).fit(
        X, y
    )
    monkeypatch.setattr(
        "churn_pipeline.models.tree_shap.MAX_TABLE_VALUES", MAX_TABLE_VALUES // 4096
    )

    with pytest.raises(ValueError, match="too deep for tabulation"):
        TreeTables.of(model, X.shape[1])


def test_wrong_width_is_refused(data):
    X, y = data
    model = XGBClassifier(n_estimators=3, max_depth=2, n_jobs=1).fit(X, y)

    with pytest.raises(ValueError, match="7 columns"):
        TreeTables.of(model, X.shape[1]).shap_values(X[:, :3])
