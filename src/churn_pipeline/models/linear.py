"""Logistic regression that keeps the signs domain knowledge fixes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression


class SignConstrainedLogisticRegression(ClassifierMixin, BaseEstimator):
    """Binary logistic regression whose constrained coefficients keep their sign.

    Correlated inputs (logins, active days, key-feature uses) can flip a plain
    logistic regression's coefficient against the domain prior, which would make
    the ensemble's risk fall when, say, logins fall. While a constrained
    coefficient has the forbidden sign, the most offending column is fixed at
    zero and the rest refitted. Without violations this is exactly
    ``LogisticRegression(**params)``.

    Args:
        signs: One entry per input column: ``1`` (coefficient >= 0), ``-1``
            (coefficient <= 0) or ``0`` (free); empty means all free.
        params: Keyword arguments for ``LogisticRegression``.
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
        """Fit, zeroing constrained columns whose coefficient has the wrong sign.

        Args:
            X: Numeric design matrix.
            y: Binary labels.
            sample_weight: Optional weight per row.

        Returns:
            The fitted estimator.

        Raises:
            ValueError: If ``signs`` does not have one entry per column.
        """
        X = np.asarray(X, dtype=float)
        n_columns = X.shape[1]
        signs = np.zeros(n_columns) if len(self.signs) == 0 else np.asarray(self.signs)
        if signs.shape != (n_columns,):
            raise ValueError(
                f"signs has {signs.size} entries for {n_columns} columns of X"
            )
        keep = np.ones(n_columns, dtype=bool)
        while True:
            model = LogisticRegression(**(self.params or {})).fit(
                X[:, keep], y, sample_weight=sample_weight
            )
            coef = np.zeros(n_columns)
            coef[keep] = model.coef_[0]
            violation = np.where(keep, -signs * coef, 0.0)
            worst = int(np.argmax(violation))
            if violation[worst] <= 0:
                break
            keep[worst] = False
        self.coef_ = coef.reshape(1, -1)
        self.intercept_ = np.asarray(model.intercept_, dtype=float).copy()
        self.classes_ = model.classes_
        self.n_features_in_ = n_columns
        self.zeroed_columns_ = np.flatnonzero(~keep)
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
