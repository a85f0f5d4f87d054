"""Tree paths route rows like the libraries; tabulated SHAP equals their TreeSHAP."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shap
import xgboost
from lightgbm import LGBMClassifier
from xgboost import XGBClassifier, XGBRegressor

from churn_pipeline.models.tree_paths import TreePaths
from churn_pipeline.models.tree_shap import MAX_TABLE_VALUES, TreeTables


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


def _tables(model: XGBClassifier | LGBMClassifier, n_features: int) -> TreeTables:
    return TreeTables.of(TreePaths.of(model, n_features))


def _at_splits(X: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Rows of ``X`` plus rows with values exactly at split points and one
    float32 step either side, where "<" versus "<=" or a float64 comparison of
    a float32 split would route differently."""
    at = np.resize(thresholds, 150).astype(np.float32)
    below = np.nextafter(at, np.float32(-np.inf))
    above = np.nextafter(at, np.float32(np.inf))
    near = np.concatenate([below, at, above]).astype(np.float64)
    at_split = np.repeat(X[:1], len(near), axis=0)
    for column in range(X.shape[1]):
        at_split[:, column] = np.roll(near, column)
    return np.vstack([X, at_split])


# -------------------------------------------------------------------- routing
@pytest.mark.parametrize("max_depth", [1, 5])
def test_rows_reach_the_leaves_xgboost_routes_them_to(data, max_depth):
    X, y = data
    model = XGBClassifier(n_estimators=150, max_depth=max_depth, n_jobs=1).fit(X, y)
    paths = TreePaths.of(model, X.shape[1])
    probe = _at_splits(X, paths.split_threshold)

    np.testing.assert_array_equal(paths.leaves(probe), model.apply(probe))


def test_xgboost_margin_is_its_leaves_added_in_float64(data):
    X, y = data
    model = XGBClassifier(n_estimators=150, max_depth=5, n_jobs=1).fit(X, y)
    paths = TreePaths.of(model, X.shape[1])
    probe = _at_splits(X, paths.split_threshold)

    margin = paths.margin(probe)

    # The oracle: XGBoost's own leaf assignments, its dumped leaf values.
    leaf_values = [
        {node["nodeid"]: node["leaf"] for node in _walk(tree) if "leaf" in node}
        for tree in map(json.loads, model.get_booster().get_dump(dump_format="json"))
    ]
    assigned = model.apply(probe)
    expected = [
        paths.base_margin + sum(leaf_values[t][leaf] for t, leaf in enumerate(row))
        for row in assigned
    ]
    np.testing.assert_allclose(margin, expected, rtol=0, atol=1e-12)
    # XGBoost adds in float32: equal up to its rounding.
    float32 = model.predict(probe, output_margin=True)
    np.testing.assert_allclose(margin, float32, rtol=2e-6, atol=1e-6)
    assert margin.dtype == np.float64


def _walk(node: dict) -> list[dict]:
    return [node, *(n for child in node.get("children", []) for n in _walk(child))]


@pytest.mark.parametrize(
    "params",
    [{}, {"zero_as_missing": True}, {"use_missing": False}],
    ids=["nan", "zero", "none"],
)
def test_rows_reach_the_leaves_lightgbm_routes_them_to(data, params):
    X, y = data
    model = LGBMClassifier(
        n_estimators=60, num_leaves=15, verbose=-1, n_jobs=1, **params
    ).fit(X, y)
    paths = TreePaths.of(model, X.shape[1])
    probe = _at_splits(_probe(X), paths.split_threshold)

    np.testing.assert_array_equal(
        paths.leaves(probe), model.booster_.predict(probe, pred_leaf=True)
    )
    np.testing.assert_allclose(
        paths.margin(probe),
        model.booster_.predict(probe, raw_score=True),
        rtol=0,
        atol=1e-12,
    )


def test_only_binary_classifiers(data):
    X, y = data
    three_classes = XGBClassifier(n_estimators=5).fit(X, y + (X[:, 0] > 1))
    regressor = XGBRegressor(n_estimators=5).fit(X, y.astype(float))

    with pytest.raises(ValueError, match="binary:logistic"):
        TreePaths.of(three_classes, X.shape[1])
    with pytest.raises(ValueError, match="reads XGBoost or LightGBM"):
        TreePaths.of(regressor, X.shape[1])


def test_linear_leaves_are_refused(data):
    X, y = data
    model = LGBMClassifier(n_estimators=3, linear_tree=True, verbose=-1, n_jobs=1).fit(
        np.nan_to_num(X), y
    )

    with pytest.raises(ValueError, match="linear_tree"):
        TreePaths.of(model, X.shape[1])


def test_library_tree_shap_adds_up_to_the_float64_margin_closer(data):
    """XGBoost's TreeSHAP reads float32 covers, so it is exact only to about 1e-7
    relative (what the ensemble falls back to for trees too deep to tabulate);
    against XGBoost's float32 margin the error is several times larger."""
    X, y = data
    model = XGBClassifier(n_estimators=150, max_depth=5, n_jobs=1).fit(X, y)
    explainer = shap.TreeExplainer(model)

    values = explainer.shap_values(X)

    total = float(np.ravel(explainer.expected_value)[0]) + values.sum(axis=1)
    margin = TreePaths.of(model, X.shape[1]).margin(X)
    np.testing.assert_allclose(total, margin, rtol=1e-6, atol=1e-6)
    float32_error = np.abs(total - model.predict(X, output_margin=True)).max()
    assert np.abs(total - margin).max() < float32_error / 2


# ----------------------------------------------------------------------- SHAP
@pytest.mark.parametrize("max_depth", [1, 3, 6])
def test_xgboost_values_are_xgboosts_own(data, max_depth):
    X, y = data
    model = XGBClassifier(n_estimators=80, max_depth=max_depth, n_jobs=1).fit(X, y)
    probe = _probe(X)

    tables = _tables(model, X.shape[1])
    values = tables.shap_values(probe)

    library = model.get_booster().predict(xgboost.DMatrix(probe), pred_contribs=True)
    # XGBoost accumulates in float32; the tables in float64.
    np.testing.assert_allclose(values, library[:, :-1], atol=2e-5)
    assert tables.base_value == pytest.approx(float(library[0, -1]), abs=2e-5)
    # Exactly additive against XGBoost's leaves summed in float64.
    margin = tables.paths.margin(probe)
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

    tables = _tables(model, X.shape[1])
    values = tables.shap_values(probe)

    library = model.booster_.predict(probe, pred_contrib=True)
    np.testing.assert_allclose(values, library[:, :-1], rtol=1e-9, atol=1e-12)
    assert tables.base_value == pytest.approx(float(library[0, -1]), abs=1e-12)
    raw = model.booster_.predict(probe, raw_score=True)
    np.testing.assert_allclose(
        tables.base_value + values.sum(axis=1), raw, rtol=0, atol=1e-10
    )


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_rows_alone_and_in_batches_get_the_same_values(data, library):
    # One to three rows run row by row, more leaf by leaf: two kernels.
    X, y = data
    model = (
        XGBClassifier(n_estimators=40, max_depth=4, n_jobs=1)
        if library == "xgboost"
        else LGBMClassifier(n_estimators=40, num_leaves=15, verbose=-1, n_jobs=1)
    ).fit(X, y)
    tables = _tables(model, X.shape[1])
    probe = _probe(X)[:40]

    batch = tables.shap_values(probe)

    alone = np.vstack([tables.shap_values(probe[i : i + 1]) for i in range(40)])
    np.testing.assert_array_equal(alone, batch)
    np.testing.assert_array_equal(tables.shap_values(probe[:3]), batch[:3])


def test_lightgbm_without_missing_values_in_training(data):
    X, y = data
    clean = np.nan_to_num(X)  # missing_type None: NaN at scoring time counts as 0
    model = LGBMClassifier(n_estimators=30, max_depth=4, verbose=-1, n_jobs=1).fit(
        clean, y
    )
    probe = _probe(X)

    values = _tables(model, X.shape[1]).shap_values(probe)

    library = model.booster_.predict(probe, pred_contrib=True)
    np.testing.assert_allclose(values, library[:, :-1], rtol=1e-9, atol=1e-12)


def test_single_leaf_trees_only_move_the_base_value():
    X = np.zeros((50, 2))
    y = np.r_[np.zeros(45), np.ones(5)].astype(int)
    model = LGBMClassifier(n_estimators=3, verbose=-1, n_jobs=1).fit(X, y)

    tables = _tables(model, 2)

    np.testing.assert_array_equal(tables.shap_values(X[:3]), 0.0)
    raw = model.booster_.predict(X[:3], raw_score=True)
    assert tables.base_value == pytest.approx(float(raw[0]))
    np.testing.assert_allclose(tables.paths.margin(X[:3]), raw, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(tables.paths.leaves(X[:3]), 0)


def test_trees_too_deep_to_tabulate_are_refused(data, monkeypatch):
    X, y = data
    model = LGBMClassifier(n_estimators=5, num_leaves=31, verbose=-1, n_jobs=1).fit(
        X, y
    )
    monkeypatch.setattr(
        "churn_pipeline.models.tree_shap.MAX_TABLE_VALUES", MAX_TABLE_VALUES // 4096
    )

    paths = TreePaths.of(model, X.shape[1])

    with pytest.raises(ValueError, match="too deep for tabulation"):
        TreeTables.of(paths)
    # Routing needs no tables: margins stay exact.
    np.testing.assert_allclose(
        paths.margin(X), model.booster_.predict(X, raw_score=True), atol=1e-12
    )


def test_wrong_width_is_refused(data):
    X, y = data
    model = XGBClassifier(n_estimators=3, max_depth=2, n_jobs=1).fit(X, y)

    tables = _tables(model, X.shape[1])

    for method in (tables.shap_values, tables.paths.margin, tables.paths.leaves):
        with pytest.raises(ValueError, match="7 columns"):
            method(X[:, :3])
