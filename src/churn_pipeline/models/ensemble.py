"""A calibrated XGBoost + LightGBM + logistic-regression ensemble."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted

from churn_pipeline.evaluation.time_split import labels_known_by
from churn_pipeline.models.blend import fit_blend
from churn_pipeline.models.columns import Columns
from churn_pipeline.models.design import category_matrix, numeric_matrix
from churn_pipeline.models.explanation import ChurnExplainer, Explanation
from churn_pipeline.models.feature_lists import infer_feature_lists
from churn_pipeline.models.fit_rows import (
    check_slice,
    checked_weight,
    rows_of,
    slice_dates,
)
from churn_pipeline.models.members import (
    CLASS_WEIGHTS,
    DEFAULT_PARAMS,
    MEMBERS,
    MemberRoute,
    fit_member,
    make_member,
)
from churn_pipeline.models.monotone import monotone_violations, resolve_constraints

__all__ = ["CLASS_WEIGHTS", "MEMBERS", "ChurnEnsemble"]

logger = logging.getLogger(__name__)
# Derived from ``members_`` (design matrices, tree paths): rebuilt, never pickled.
_ROUTES = "_routes"


class ChurnEnsemble(ClassifierMixin, BaseEstimator):
    """Weighted log-odds average of its members, Platt-calibrated.

    Members (XGBoost, LightGBM, sign-constrained logistic regression, or a
    subset) are fitted on the older training periods, each with its own
    preprocessing. On the newest ``n_calibration_periods`` periods, which the
    members never saw, one logistic fit on the members' log-odds with
    non-negative coefficients gives both the member weights (coefficients
    normalised to sum to one) and the Platt calibration (their sum and the
    intercept). Rows whose label window reaches into the calibration periods are
    left out of member fitting so no label leaks across the cut.

    The model keeps what scoring and explaining need, never training rows:
    explanations come from :class:`~churn_pipeline.models.explanation.ChurnExplainer`.

    Args:
        numeric_features: Numeric input columns; ``None`` infers them in ``fit``
            (numeric dtypes among the columns not named as categorical).
        categorical_features: Categorical input columns; ``None`` infers them
            (text, category and boolean dtypes among the columns not named as
            numeric).
        members: Member name -> keyword arguments of its estimator
            (``XGBClassifier``, ``LGBMClassifier`` or ``LogisticRegression``);
            ``None`` uses all members with default arguments.
        monotone_constraints: Feature name or :mod:`fnmatch` pattern
            (``"logins_*"``) -> +1 (risk may only rise with it), -1 (may only
            fall) or 0 (free), enforced in every member (monotone trees,
            sign-bounded linear coefficients); domain knowledge, not fitted.
            Resolved in ``fit``: see
            :func:`~churn_pipeline.models.monotone.resolve_constraints`.
        class_weight: ``None`` fits members on the rows as they are; ``"balanced"``
            weighs churners up to half the total weight. Either way the
            calibration slice is unweighted, so probabilities stay honest.
        n_calibration_periods: Newest periods held out for weights and calibration.
        horizon_days: Label horizon, to keep member-fit labels before the cut.
        calibration_fraction: Without periods (one row per customer, no
            history), the stratified random share held out for calibration.
        random_state: Seed for every random member.

    Attributes:
        feature_names_in_: Numeric, then categorical features.
        numeric_features_: Numeric features, given or inferred.
        categorical_features_: Categorical features, given or inferred.
        monotone_constraints_: Numeric feature -> sign, the patterns resolved.
        members_: Member name -> fitted pipeline (preprocessing, estimator).
        weights_: Member name -> blend weight (non-negative, summing to one).
        calibration_slope_: Platt slope applied to the blended log-odds.
        calibration_intercept_: Platt intercept.
        member_calibration_: Member name -> its own (slope, intercept).
        typical_values_: Median of each numeric feature over the retained
            (label 0) member-fit rows: what reason texts compare an account with.
        background_means_: Member name -> its mean design row over the
            member-fit rows: the reference of the linear member's SHAP values.
        periods_: The dates (or ``"random"``) of the member-fit and calibration
            slices.
    """

    def __init__(
        self,
        *,
        numeric_features: Sequence[str] | None = None,
        categorical_features: Sequence[str] | None = None,
        members: Mapping[str, Mapping[str, Any] | None] | None = None,
        monotone_constraints: Mapping[str, int] | None = None,
        class_weight: str | None = None,
        n_calibration_periods: int = 2,
        horizon_days: int = 30,
        calibration_fraction: float = 0.25,
        random_state: int = 0,
    ) -> None:
        self.numeric_features = numeric_features
        self.categorical_features = categorical_features
        self.members = members
        self.monotone_constraints = monotone_constraints
        self.class_weight = class_weight
        self.n_calibration_periods = n_calibration_periods
        self.horizon_days = horizon_days
        self.calibration_fraction = calibration_fraction
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        X: pd.DataFrame,
        y: pd.Series | np.ndarray,
        *,
        periods: pd.Series | None = None,
        sample_weight: pd.Series | np.ndarray | None = None,
    ) -> ChurnEnsemble:
        """Fit members, member weight and calibration on separate rows.

        With ``periods`` the split follows time (newest periods calibrate);
        without them (a one-row-per-customer table) a stratified random share
        ``calibration_fraction`` calibrates.

        Args:
            X: Feature table with at least the configured feature columns.
            y: Binary churn labels.
            periods: As-of date of each row, if the data has a time axis.
            sample_weight: Weight per row, e.g. the inverse share of
                subsampled non-churners
                (:mod:`churn_pipeline.evaluation.snapshots`): members, blend
                and calibration all fit weighted, so probabilities estimate
                the full rows'. ``None``: every row weighs one.

        Returns:
            The fitted ensemble.

        Raises:
            ValueError: On constraint patterns matching no numeric feature,
                conflicting or bad signs, too few periods, or a single-class
                fitting slice.
        """
        self._validate_params()
        numeric, categorical = infer_feature_lists(
            X, self.numeric_features, self.categorical_features
        )
        constraints = resolve_constraints(self.monotone_constraints, numeric)
        features = [*numeric, *categorical]
        missing = sorted(set(features) - set(X.columns))
        if missing:
            raise ValueError(f"X lacks feature columns: {missing}")
        X = X[features]
        y = np.asarray(y, dtype=int)
        weight = checked_weight(sample_weight, len(y))
        is_member_fit, is_calibration, fit_slices = self._split(X, y, periods)
        self.feature_names_in_ = np.asarray(features, dtype=object)
        self.numeric_features_ = numeric
        self.categorical_features_ = categorical
        self.monotone_constraints_ = constraints
        self._fit_members(
            X[is_member_fit], y[is_member_fit], rows_of(weight, is_member_fit)
        )
        self._fit_blend(
            X[is_calibration], y[is_calibration], rows_of(weight, is_calibration)
        )
        violations = monotone_violations(self)
        if violations:  # a guard for future changes: by construction none
            raise RuntimeError(f"Fitted ensemble is not monotone: {violations}")
        self.classes_ = np.array([0, 1])
        # What a retained account looks like, for reason texts ("typical: 85");
        # member-fit rows only, like everything else that is fitted.
        retained = X.loc[is_member_fit & (y == 0), numeric]
        self.typical_values_ = {
            name: float(value) for name, value in retained.median().items()
        }
        self.periods_ = fit_slices
        logger.info(
            "Ensemble fitted: %d member rows, %d calibration rows, weights %s, "
            "Platt slope %.3f",
            int(is_member_fit.sum()),
            int(is_calibration.sum()),
            {k: round(v, 2) for k, v in self.weights_.items()},
            self.calibration_slope_,
        )
        return self

    def _fit_members(
        self, X: pd.DataFrame, y: np.ndarray, weight: np.ndarray | None
    ) -> None:
        params = self.member_params()
        self.members_ = {
            name: fit_member(
                make_member(
                    name,
                    member_params,
                    self.numeric_features_,
                    self.categorical_features_,
                    self.random_state,
                ),
                MEMBERS[name],
                X,
                y,
                monotone_constraints=self.monotone_constraints_,
                class_weight=self.class_weight,
                sample_weight=weight,
            )
            for name, member_params in params.items()
        }
        self.__dict__[_ROUTES] = _routes_of(self.members_)
        # Only the mean member-fit row is kept (the linear member's SHAP
        # reference), never the rows themselves.
        self.background_means_ = {
            name: np.average(route.design.transform_columns(X), axis=0, weights=weight)
            for name, route in self.__dict__[_ROUTES].items()
        }

    def _fit_blend(
        self, X: pd.DataFrame, y: np.ndarray, weight: np.ndarray | None
    ) -> None:
        member_logits = self._logits(self.member_designs(X))
        self.weights_, self.calibration_slope_, self.calibration_intercept_ = fit_blend(
            member_logits, y, weight
        )
        # Each member calibrated on its own too, so members and ensemble compare
        # on equal terms (Brier, ECE) in evaluation and backtests.
        self.member_calibration_ = {
            name: fit_blend({name: logits}, y, weight)[1:]
            for name, logits in member_logits.items()
        }

    def _split(
        self, X: pd.DataFrame, y: np.ndarray, periods: pd.Series | None
    ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Member-fit and calibration rows, and the dates of each slice."""
        if periods is None:
            is_member_fit, is_calibration = self._random_split(y)
            fit_slices: dict[str, Any] = {
                "member_fit": "random",
                "calibration": "random",
            }
        else:
            is_member_fit, is_calibration, fit_slices = self._time_split(
                pd.to_datetime(pd.Series(np.asarray(periods), index=X.index))
            )
        for name, mask in (("member", is_member_fit), ("calibration", is_calibration)):
            check_slice(name, y[mask], fit_slices, self.horizon_days)
        return is_member_fit, is_calibration, fit_slices

    def _time_split(
        self, periods: pd.Series
    ) -> tuple[np.ndarray, np.ndarray, dict[str, list[str]]]:
        distinct = np.sort(periods.unique())
        if len(distinct) <= self.n_calibration_periods:
            raise ValueError(
                f"Need more than n_calibration_periods={self.n_calibration_periods} "
                f"distinct periods to fit, got {len(distinct)}"
            )
        calibration_start = pd.Timestamp(distinct[-self.n_calibration_periods])
        is_calibration = (periods >= calibration_start).to_numpy()
        is_member_fit = labels_known_by(periods, calibration_start, self.horizon_days)
        slices = {
            "member_fit": slice_dates(periods[is_member_fit]),
            "calibration": slice_dates(periods[is_calibration]),
        }
        return is_member_fit, is_calibration, slices

    def _random_split(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not 0.0 < self.calibration_fraction < 1.0:
            raise ValueError(
                "calibration_fraction must be in (0, 1), got "
                f"{self.calibration_fraction}"
            )
        rows = np.arange(len(y))
        _, calibration = train_test_split(
            rows,
            test_size=self.calibration_fraction,
            stratify=y,
            random_state=self.random_state,
        )
        is_calibration = np.isin(rows, calibration)
        return ~is_calibration, is_calibration

    def member_params(self) -> dict[str, dict[str, Any]]:
        """Each chosen member's estimator arguments, defaults filled in."""
        chosen = self.members if self.members is not None else dict.fromkeys(MEMBERS)
        return {
            name: {**DEFAULT_PARAMS[name], **(params or {})}
            for name, params in chosen.items()
        }

    def _validate_params(self) -> None:
        if self.n_calibration_periods < 1:
            raise ValueError("n_calibration_periods must be >= 1")
        if self.members is not None:
            unknown = sorted(set(self.members) - set(MEMBERS))
            if unknown or not self.members:
                raise ValueError(
                    f"members must name at least one of {list(MEMBERS)} and "
                    f"nothing else; unknown {unknown}"
                )
        if self.class_weight not in CLASS_WEIGHTS:
            raise ValueError(
                f"class_weight must be one of {list(CLASS_WEIGHTS)}, "
                f"got {self.class_weight!r}"
            )

    def __getstate__(self) -> dict[str, Any]:
        # Routes are read off the fitted members again on load: pickling the
        # tree paths would more than double a registered model's size.
        # A copy: BaseEstimator hands out the live __dict__.
        state = dict(super().__getstate__())
        state.pop(_ROUTES, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if "members_" in state:
            self.__dict__[_ROUTES] = _routes_of(self.members_)

    # --------------------------------------------------------------- predicting
    @property
    def member_routes(self) -> dict[str, MemberRoute]:
        """Member name -> how it scores rows, read off ``members_`` (not pickled)."""
        check_is_fitted(self)
        return self.__dict__[_ROUTES]

    def member_designs(self, X: Columns) -> dict[str, np.ndarray]:
        """Each member's design matrix of ``X``, converted once for all members.

        Args:
            X: A DataFrame, or feature name -> one-dimensional array.

        Raises:
            sklearn.exceptions.NotFittedError: Before ``fit``.
            ValueError: If ``X`` lacks a feature column.
        """
        check_is_fitted(self)
        missing = [name for name in self.feature_names_in_ if name not in X]
        if missing:
            raise ValueError(f"X lacks feature columns: {sorted(missing)}")
        numeric = numeric_matrix(X, self.numeric_features_)
        categorical = category_matrix(X, self.categorical_features_)
        return {
            name: route.design.transform(numeric, categorical)
            for name, route in self.__dict__[_ROUTES].items()
        }

    def _logits(self, designs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {
            name: route.margin(designs[name])
            for name, route in self.__dict__[_ROUTES].items()
        }

    def proba_of_designs(self, designs: Mapping[str, np.ndarray]) -> np.ndarray:
        """Calibrated churn probability of rows given as :meth:`member_designs`."""
        logits = self._logits(designs)
        score = sum(self.weights_[name] * logits[name] for name in self.weights_)
        return expit(self.calibration_slope_ * score + self.calibration_intercept_)

    def decision_function(self, X: Columns) -> np.ndarray:
        """Uncalibrated ensemble score: weighted mean of member log-odds.

        Args:
            X: A DataFrame, or feature name -> one-dimensional array.
        """
        logits = self._logits(self.member_designs(X))
        return sum(self.weights_[name] * logits[name] for name in self.weights_)

    def predict_proba(self, X: Columns) -> np.ndarray:
        """Calibrated churn probabilities, shape ``(n, 2)``."""
        score = self.decision_function(X)
        churn = expit(self.calibration_slope_ * score + self.calibration_intercept_)
        return np.column_stack([1.0 - churn, churn])

    def predict(self, X: Columns) -> np.ndarray:
        """Churn (1) when the calibrated probability is at least 0.5."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def member_probabilities(self, X: Columns) -> dict[str, np.ndarray]:
        """Each member's churn probability, Platt-calibrated on its own."""
        logits = self._logits(self.member_designs(X))
        return {
            name: expit(slope * logits[name] + intercept)
            for name, (slope, intercept) in self.member_calibration_.items()
        }

    def explain(self, X: Columns) -> Explanation:
        """``ChurnExplainer(self).explain(X)``: builds the explainer each call.

        Hold a :class:`~churn_pipeline.models.explanation.ChurnExplainer` to
        explain more than once (it tabulates the trees when built).
        """
        return ChurnExplainer(self).explain(X)


def _routes_of(members: Mapping[str, Any]) -> dict[str, MemberRoute]:
    return {name: MemberRoute.of(member) for name, member in members.items()}
