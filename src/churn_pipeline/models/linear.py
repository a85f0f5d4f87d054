"""Logistic regression that keeps the signs domain knowledge fixes."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.class_weight import compute_sample_weight

logger = logging.getLogger(__name__)

# LogisticRegression arguments the bounded fit does not reproduce: any of them
# with constraints that bind is refused rather than silently ignored.
_UNBOUNDABLE = {"penalty": ("deprecated", "l2"), "l1_ratio": (0, 0.0, None)}


class SignConstrainedLogisticRegression(ClassifierMixin, BaseEstimator):
    """Binary L2 logistic regression whose constrained coefficients keep their sign.

    Correlated inputs (logins over 7, 30 and 90 days, active days, key-feature
    uses) can flip a plain logistic regression's coefficient against the domain
    prior, which would make the ensemble's risk fall when, say, logins fall. The
    plain ``LogisticRegression(**params)`` is fitted first and kept when every
    constrained coefficient has its sign. Otherwise the same penalised
    likelihood is minimised with each constrained coefficient bounded to its
    sign (SciPy's L-BFGS-B, warm-started at the plain fit): the exact optimum
    of a convex problem, where zeroing offenders one at a time would drop more
    columns than the bounds need.

    Args:
        signs: One entry per input column: ``1`` (coefficient >= 0), ``-1``
            (coefficient <= 0) or ``0`` (free); empty means all free.
        params: Keyword arguments for ``LogisticRegression`` (L2 only).

    Attributes:
        coef_: Coefficients, shape ``(1, n_columns)``.
        intercept_: Intercept, shape ``(1,)``.
        zeroed_columns_: Constrained columns the bounds hold at zero.
    """

    def __init__(
        self,
        *,
        signs: Sequence[int] = (),
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.signs = signs
        self.params = params

    def fit(
        self, X: Any, y: Any, sample_weight: Any = None
    ) -> SignConstrainedLogisticRegression:
        """Fit; bound the constrained coefficients if the plain fit breaks a sign.

        Args:
            X: Numeric design matrix.
            y: Binary labels.
            sample_weight: Optional weight per row.

        Returns:
            The fitted estimator.

        Raises:
            ValueError: If ``signs`` does not have one entry per column, or the
                bounds are needed with a penalty other than L2.
        """
        X = np.asarray(X, dtype=float)
        n_columns = X.shape[1]
        signs = np.zeros(n_columns) if len(self.signs) == 0 else np.asarray(self.signs)
        if signs.shape != (n_columns,):
            raise ValueError(
                f"signs has {signs.size} entries for {n_columns} columns of X"
            )
        params = dict(self.params or {})
        plain = LogisticRegression(**params).fit(X, y, sample_weight=sample_weight)
        coef = plain.coef_[0].copy()
        intercept = float(plain.intercept_[0])
        if np.any(signs * coef < 0):
            coef, intercept = _bounded_fit(
                X, plain.classes_, y, sample_weight, signs, params, coef, intercept
            )
        self.coef_ = coef.reshape(1, -1)
        self.intercept_ = np.array([intercept])
        self.classes_ = plain.classes_
        self.n_features_in_ = n_columns
        self.zeroed_columns_ = np.flatnonzero((signs != 0) & (coef == 0.0))
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Log-odds of the positive class."""
        return np.asarray(X, dtype=float) @ self.coef_[0] + self.intercept_[0]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape ``(n, 2)``."""
        positive = expit(self.decision_function(X))
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: Any) -> np.ndarray:
        """The more probable class."""
        return self.classes_[(self.decision_function(X) > 0).astype(int)]


def _bounded_fit(
    X: np.ndarray,
    classes: np.ndarray,
    y: Any,
    sample_weight: Any,
    signs: np.ndarray,
    params: Mapping[str, Any],
    coef: np.ndarray,
    intercept: float,
) -> tuple[np.ndarray, float]:
    """LogisticRegression's L2 objective with sign bounds, by L-BFGS-B."""
    for name, allowed in _UNBOUNDABLE.items():
        if name in params and params[name] not in allowed:
            raise ValueError(
                f"logistic_regression {name}={params[name]!r}: sign constraints "
                f"are enforced for the L2 penalty only; allowed: {list(allowed)}"
            )
    target = (np.asarray(y) == classes[1]).astype(float)
    weight = np.ones(len(target)) if sample_weight is None else sample_weight
    weight = np.asarray(weight, dtype=float)
    if params.get("class_weight") is not None:
        weight = weight * compute_sample_weight(params["class_weight"], y)
    # sklearn's objective, scaled as sklearn scales it for L-BFGS:
    # the weighted mean log-loss + ||coef||^2 / (2 C sum(weight)).
    penalty = 1.0 / (float(params.get("C", 1.0)) * weight.sum())
    weight = weight / weight.sum()
    free_intercept = bool(params.get("fit_intercept", True))

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        beta, offset = theta[:-1], (theta[-1] if free_intercept else 0.0)
        margin = X @ beta + offset
        value = -weight @ (
            target * log_expit(margin) + (1 - target) * log_expit(-margin)
        )
        residual = weight * (expit(margin) - target)
        gradient = np.append(X.T @ residual + penalty * beta, residual.sum())
        return float(value + 0.5 * penalty * beta @ beta), gradient

    bounds = [
        (0.0, None) if s > 0 else (None, 0.0) if s < 0 else (None, None) for s in signs
    ]
    bounds.append((None, None) if free_intercept else (0.0, 0.0))
    start = np.append(np.where(signs * coef < 0, 0.0, coef), intercept)
    fitted = minimize(
        loss,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={
            "maxiter": int(params.get("max_iter", 100)),
            "gtol": float(params.get("tol", 1e-4)),
            "ftol": 64 * np.finfo(float).eps,
        },
    )
    if not fitted.success:
        logger.warning(
            "Sign-bounded logistic fit stopped early (%s); raise max_iter",
            fitted.message,
        )
    return fitted.x[:-1], float(fitted.x[-1])
