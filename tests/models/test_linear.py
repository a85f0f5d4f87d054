"""The sign-bounded logistic regression member."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from churn_pipeline.models.linear import SignConstrainedLogisticRegression

TIGHT = {"tol": 1e-10, "max_iter": 10_000}


def _collinear(seed: int = 0, n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    """x2 and x3 follow x1; the truth gives x2 a positive coefficient."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    X = np.column_stack(
        [x1, x1 + rng.normal(0, 0.3, n), 2 * x1 + rng.normal(0, 0.3, n)]
    )
    y = (rng.random(n) < expit(-1.0 - 1.5 * X[:, 2] + 1.0 * X[:, 1])).astype(int)
    return X, y


def _objective(
    model: SignConstrainedLogisticRegression, X: np.ndarray, y: np.ndarray
) -> float:
    """LogisticRegression's objective at C=1: sum(log-loss) + ||coef||^2 / 2."""
    margin = model.decision_function(X)
    log_loss = np.logaddexp(0.0, margin) - y * margin
    return float(log_loss.sum() + 0.5 * model.coef_[0] @ model.coef_[0])


def _greedy_zeroing(X: np.ndarray, y: np.ndarray) -> SignConstrainedLogisticRegression:
    """The alternative to bounds: drop the worst positive column, refit, repeat."""
    keep = np.ones(X.shape[1], dtype=bool)
    while True:
        plain = LogisticRegression(**TIGHT).fit(X[:, keep], y)
        coef = np.zeros(X.shape[1])
        coef[keep] = plain.coef_[0]
        if (coef <= 0).all():
            break
        keep[int(np.argmax(coef))] = False
    greedy = SignConstrainedLogisticRegression(params=TIGHT)
    greedy.coef_, greedy.intercept_ = coef.reshape(1, -1), plain.intercept_
    return greedy


def test_bounded_fit_finds_the_optimum_zeroing_offenders_misses() -> None:
    """Correlated columns (seed found by search): zeroing one offender at a time
    drops a column the optimum keeps."""
    rng = np.random.default_rng(127)
    mixing = rng.normal(size=(4, 4))
    X = rng.normal(size=(2000, 4)) @ mixing
    truth = rng.normal(size=4)
    y = (rng.random(2000) < expit(-1.0 + X @ truth)).astype(int)

    model = SignConstrainedLogisticRegression(signs=[-1] * 4, params=TIGHT).fit(X, y)
    greedy = _greedy_zeroing(X, y)

    assert (model.coef_ <= 0).all()
    assert _objective(model, X, y) < _objective(greedy, X, y) - 100
    assert np.count_nonzero(model.coef_) > np.count_nonzero(greedy.coef_)


def test_integer_sample_weights_equal_repeated_rows() -> None:
    X, y = _collinear(4, n=1500)
    weight = np.random.default_rng(5).integers(1, 4, len(y))
    signs = [0, -1, -1]

    weighted = SignConstrainedLogisticRegression(signs=signs, params=TIGHT)
    weighted.fit(X, y, sample_weight=weight)
    repeated = SignConstrainedLogisticRegression(signs=signs, params=TIGHT)
    repeated.fit(np.repeat(X, weight, axis=0), np.repeat(y, weight))

    assert weighted.coef_[0, 1] == 0.0  # the bound binds in both
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, atol=1e-6)
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, atol=1e-6)


def test_class_weight_argument_equals_its_sample_weights() -> None:
    X, y = _collinear(6, n=2000)
    signs = [0, -1, -1]
    weight = np.where(y == 1, len(y) / (2 * y.sum()), len(y) / (2 * (1 - y).sum()))

    by_argument = SignConstrainedLogisticRegression(
        signs=signs, params={**TIGHT, "class_weight": "balanced"}
    ).fit(X, y)
    by_weight = SignConstrainedLogisticRegression(signs=signs, params=TIGHT)
    by_weight.fit(X, y, sample_weight=weight)

    np.testing.assert_allclose(by_argument.coef_, by_weight.coef_, atol=1e-6)


@pytest.mark.parametrize(
    ("params", "name"), [({"l1_ratio": 1.0, "solver": "saga"}, "l1_ratio")]
)
def test_binding_bounds_need_the_l2_penalty(params: dict, name: str) -> None:
    X, y = _collinear()

    model = SignConstrainedLogisticRegression(signs=[0, -1, -1], params=params)
    with pytest.raises(ValueError, match=f"{name}=.*L2 penalty only"):
        model.fit(X, y)
