"""The default-XGBoost baseline and the single-member check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from xgboost import XGBClassifier

from churn_pipeline.models.baseline import default_xgboost, single_member


@pytest.fixture
def frame() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    n = 600
    x = rng.normal(size=n)
    plan = rng.choice(["basic", "pro"], size=n)
    logit = 1.5 * x + np.where(plan == "basic", 0.8, -0.8)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"x": x, "plan": plan, "noise": rng.normal(size=n)}), y


def _is_nan(value: object) -> bool:
    return isinstance(value, float) and np.isnan(value)


def test_baseline_keeps_the_library_defaults(frame):
    model = default_xgboost(["x", "noise"], ["plan"], random_state=7)
    estimator = model.named_steps["model"]
    defaults = XGBClassifier().get_params()
    # NaN (XGBoost's default `missing`) is not equal to itself.
    changed = {
        k: v
        for k, v in estimator.get_params().items()
        if v != defaults.get(k) and not (_is_nan(v) and _is_nan(defaults.get(k)))
    }
    assert changed == {"random_state": 7, "n_jobs": 2}


def test_baseline_learns_and_is_reproducible(frame):
    X, y = frame
    first = default_xgboost(["x", "noise"], ["plan"], random_state=1).fit(
        X[:400], y[:400]
    )
    again = default_xgboost(["x", "noise"], ["plan"], random_state=1).fit(
        X[:400], y[:400]
    )
    score = first.predict_proba(X[400:])[:, 1]
    np.testing.assert_array_equal(score, again.predict_proba(X[400:])[:, 1])
    assert roc_auc_score(y[400:], score) > 0.7


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ({"xgboost": 1.0, "lightgbm": 0.0}, "xgboost"),
        (
            {"xgboost": 0.0, "lightgbm": 0.0, "logistic_regression": 1.0},
            "logistic_regression",
        ),
        ({"xgboost": 0.6, "lightgbm": 0.4}, None),
        ({"xgboost": 1.0}, None),
    ],
)
def test_single_member(weights, expected):
    assert single_member(weights) == expected
