"""A calibrated XGBoost + LightGBM + logistic-regression ensemble with exact SHAP."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import xgboost
from lightgbm import LGBMClassifier
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.utils.class_weight import compute_sample_weight
from xgboost import XGBClassifier

from churn_pipeline.evaluation.time_split import labels_known_by
from churn_pipeline.models.columns import Columns, n_rows
from churn_pipeline.models.design import (
    DesignMatrix,
    category_matrix,
    design_of,
    numeric_matrix,
)
from churn_pipeline.models.linear import SignConstrainedLogisticRegression
from churn_pipeline.models.preprocessing import (
    MemberKind,
    make_preprocessor,
    source_features,
)
from churn_pipeline.models.tree_shap import TreePaths, TreeTables

logger = logging.getLogger(__name__)

MEMBERS: dict[str, MemberKind] = {
    "xgboost": "tree",
    "lightgbm": "tree",
    "logistic_regression": "linear",
}
CLASS_WEIGHTS = (None, "balanced")
# Defaults under the configured parameters: deterministic and quiet.
_DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "xgboost": {"n_jobs": 2, "tree_method": "hist"},
    "lightgbm": {
        "n_jobs": 2,
        "verbose": -1,
        "deterministic": True,
        "force_row_wise": True,
    },
    "logistic_regression": {"C": 1.0, "max_iter": 2000},
}


@dataclass(frozen=True)
class Explanation:
    """Exact SHAP contributions to the ensemble's uncalibrated score (log-odds).

    Attributes:
        base_value: Score of an average training account.
        contributions: One column per input feature (one-hot columns folded back),
            one row per account; ``base_value + row sum`` equals the score.
        calibration_slope: Factor turning contributions into calibrated log-odds.
    """

    base_value: float
    contributions: pd.DataFrame
    calibration_slope: float


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

    Args:
        numeric_features: Numeric input columns.
        categorical_features: Categorical input columns.
        members: Member name -> keyword arguments of its estimator
            (``XGBClassifier``, ``LGBMClassifier`` or ``LogisticRegression``);
            ``None`` uses all members with default arguments.
        monotone_constraints: Feature -> +1 (risk may only rise with it) or -1
            (may only fall), enforced in every member (monotone constraints in
            the trees; coefficient signs in the logistic regression); domain
            knowledge, not fitted.
        class_weight: ``None`` fits members on the rows as they are; ``"balanced"``
            weighs churners up to half the total weight. Either way the
            calibration slice is unweighted, so probabilities stay honest.
        n_calibration_periods: Newest periods held out for weights and calibration.
        horizon_days: Label horizon, to keep member-fit labels before the cut.
        calibration_fraction: Without periods (one row per customer, no
            history), the stratified random share held out for calibration.
        random_state: Seed for every random member.

    Attributes:
        weights_: Member name -> blend weight (non-negative, summing to one).
        calibration_slope_: Platt slope applied to the blended log-odds.
        calibration_intercept_: Platt intercept.
        typical_values_: Median of each numeric feature over the retained
            (label 0) member-fit rows: what reason texts compare an account with.
    """

    def __init__(
        self,
        *,
        numeric_features: Sequence[str],
        categorical_features: Sequence[str],
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
    ) -> ChurnEnsemble:
        """Fit members, member weight and calibration on separate rows.

        With ``periods`` the split follows time (newest periods calibrate);
        without them (a one-row-per-customer table) a stratified random share
        ``calibration_fraction`` calibrates.

        Args:
            X: Feature table with at least the configured feature columns.
            y: Binary churn labels.
            periods: As-of date of each row, if the data has a time axis.

        Returns:
            The fitted ensemble.

        Raises:
            ValueError: On unknown constraint features or values, too few periods,
                or a single-class fitting slice.
        """
        self._validate_params()
        features = [*self.numeric_features, *self.categorical_features]
        missing = sorted(set(features) - set(X.columns))
        if missing:
            raise ValueError(f"X lacks feature columns: {missing}")
        X = X[features]
        y = np.asarray(y, dtype=int)
        if periods is None:
            is_member_fit, is_calibration = self._random_split(y)
            fit_slices = {"member_fit": "random", "calibration": "random"}
        else:
            is_member_fit, is_calibration, fit_slices = self._time_split(
                pd.to_datetime(pd.Series(np.asarray(periods), index=X.index))
            )
        for name, mask in (("member", is_member_fit), ("calibration", is_calibration)):
            if len(np.unique(y[mask])) < 2:
                raise ValueError(f"The {name} slice has a single class; add history")

        self.feature_names_in_ = np.asarray(features, dtype=object)
        for cache in _CACHES:  # views of the previous fit, if any
            self.__dict__.pop(cache, None)
        self.members_ = {
            name: self._fit_member(name, X[is_member_fit], y[is_member_fit])
            for name in self.member_params()
        }
        member_logits = self._member_logits(X[is_calibration])
        y_calibration = y[is_calibration]
        self.weights_, self.calibration_slope_, self.calibration_intercept_ = (
            _fit_blend(member_logits, y_calibration)
        )
        # Each member calibrated on its own too, so members and ensemble compare
        # on equal terms (Brier, ECE) in evaluation and backtests.
        self.member_calibration_ = {
            name: _fit_blend({name: logits}, y_calibration)[1:]
            for name, logits in member_logits.items()
        }
        self.classes_ = np.array([0, 1])
        # What a retained account looks like, for reason texts ("typical: 85");
        # member-fit rows only, like everything else that is fitted.
        retained = X.loc[is_member_fit & (y == 0), list(self.numeric_features)]
        self.typical_values_ = {
            name: float(value) for name, value in retained.median().items()
        }
        self._background_ = X[is_member_fit]
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
            "member_fit": _dates(periods[is_member_fit]),
            "calibration": _dates(periods[is_calibration]),
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
            name: {**_DEFAULT_PARAMS[name], **(params or {})}
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
        constraints = self.monotone_constraints or {}
        unknown = sorted(set(constraints) - set(self.numeric_features))
        if unknown:
            raise ValueError(
                f"monotone_constraints name unknown numeric features {unknown}; "
                f"allowed: {sorted(self.numeric_features)}"
            )
        bad = {k: v for k, v in constraints.items() if v not in (-1, 0, 1)}
        if bad:
            raise ValueError(f"monotone_constraints values must be -1, 0 or 1: {bad}")

    def _make_member(self, name: str) -> Pipeline:
        kind = MEMBERS[name]
        preprocessor = make_preprocessor(
            kind, self.numeric_features, self.categorical_features
        )
        params = self.member_params()[name]
        estimator: BaseEstimator
        if name == "xgboost":
            estimator = XGBClassifier(**{"random_state": self.random_state, **params})
        elif name == "lightgbm":
            estimator = LGBMClassifier(**{"random_state": self.random_state, **params})
        else:
            estimator = SignConstrainedLogisticRegression(params=params)
        return Pipeline([("preprocess", preprocessor), ("model", estimator)])

    def _fit_member(self, name: str, X: pd.DataFrame, y: np.ndarray) -> Pipeline:
        member = self._make_member(name)
        weight = (
            None
            if self.class_weight is None
            else compute_sample_weight(self.class_weight, y)
        )
        preprocess = member.named_steps["preprocess"].fit(X)
        model = member.named_steps["model"]
        if self.monotone_constraints:
            # Constraints are per output column (one-hot and missing-value
            # indicator columns stay free), known once the preprocessing is fitted.
            signs = [
                int(self.monotone_constraints.get(str(column), 0))
                for column in preprocess.get_feature_names_out()
            ]
            if MEMBERS[name] == "tree":
                model.set_params(monotone_constraints=tuple(signs))
            else:
                model.set_params(signs=signs)
        model.fit(design_of(member).transform_columns(X), y, sample_weight=weight)
        return member

    # --------------------------------------------------------------- predicting
    def _checked(self, X: Columns) -> Columns:
        missing = [name for name in self.feature_names_in_ if name not in X]
        if missing:
            raise ValueError(f"X lacks feature columns: {sorted(missing)}")
        return X

    def _views(self) -> dict[str, _MemberView]:
        # Read once per fitted ensemble, like the explainers; not pickled.
        views = self.__dict__.get("_member_views")
        if views is None:
            features = list(self.feature_names_in_)
            views = {}
            for name, member in self.members_.items():
                sources = source_features(member.named_steps["preprocess"])
                fold = np.zeros((len(sources), len(features)))
                fold[np.arange(len(sources)), [features.index(s) for s in sources]] = 1
                views[name] = _MemberView(design_of(member), fold)
            # Published whole: a threaded server's first concurrent calls must
            # never see some members' views and not others'.
            self.__dict__["_member_views"] = views
        return views

    def _designs(self, X: Columns) -> dict[str, np.ndarray]:
        # Every member reads the same inputs: convert them once for all.
        X = self._checked(X)
        numeric = numeric_matrix(X, list(self.numeric_features))
        categorical = category_matrix(X, list(self.categorical_features))
        return {
            name: view.design.transform(numeric, categorical)
            for name, view in self._views().items()
        }

    def _member_logits(self, X: Columns) -> dict[str, np.ndarray]:
        return self._logits(self._designs(X))

    def _logits(self, designs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        # Raw margins, not logit(probability): exact, so SHAP stays additive.
        logits = {}
        for name, member in self.members_.items():
            model = member.named_steps["model"]
            design = designs[name]
            if isinstance(model, LGBMClassifier | XGBClassifier):
                paths = self._tree_paths(name)
                margin = (
                    paths.margin(design)
                    if paths is not None
                    else _library_predict(model, design, "margin")
                )
            else:
                margin = model.decision_function(design)
            logits[name] = np.asarray(margin, dtype=float)
        return logits

    def _tree_paths(self, name: str) -> TreePaths | None:
        # Read once per fitted member (tens of milliseconds for 300 trees); None
        # for trees it cannot read (e.g. linear leaves): the library scores them.
        cache = self.__dict__.setdefault("_member_tree_paths", {})
        if name not in cache:
            try:
                cache[name] = TreePaths.of(
                    self.members_[name].named_steps["model"],
                    self._views()[name].design.n_columns,
                )
            except ValueError as error:
                logger.info("Tree margins from the library, not paths: %s", error)
                cache[name] = None
        return cache[name]

    def _blend(self, member_logits: Mapping[str, np.ndarray]) -> np.ndarray:
        return sum(self.weights_[name] * member_logits[name] for name in self.weights_)

    def _calibrated(self, score: np.ndarray) -> np.ndarray:
        return expit(self.calibration_slope_ * score + self.calibration_intercept_)

    def decision_function(self, X: Columns) -> np.ndarray:
        """Uncalibrated ensemble score: weighted mean of member log-odds.

        Args:
            X: A DataFrame, or feature name -> one-dimensional array.
        """
        return self._blend(self._member_logits(X))

    def predict_proba(self, X: Columns) -> np.ndarray:
        """Calibrated churn probabilities, shape ``(n, 2)``."""
        churn = self._calibrated(self.decision_function(X))
        return np.column_stack([1.0 - churn, churn])

    def predict(self, X: Columns) -> np.ndarray:
        """Churn (1) when the calibrated probability is at least 0.5."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def member_probabilities(self, X: Columns) -> dict[str, np.ndarray]:
        """Each member's churn probability, Platt-calibrated on its own."""
        logits = self._member_logits(X)
        return {
            name: expit(slope * logits[name] + intercept)
            for name, (slope, intercept) in self.member_calibration_.items()
        }

    # --------------------------------------------------------------- explaining
    def explain(self, X: Columns) -> Explanation:
        """Exact SHAP contributions to ``decision_function``.

        Each member is explained exactly in its own log-odds (path-dependent
        tree SHAP from per-leaf tables for XGBoost and LightGBM, linear SHAP
        against the mean member-fit row for the logistic regression); the
        ensemble score is linear in those, so weighting the members'
        contributions explains it exactly.

        Args:
            X: A DataFrame, or feature name -> one-dimensional array.

        Returns:
            The explanation, folded back to input features.
        """
        return self._explanation(self._designs(X), _index_of(X))

    def predict_and_explain(self, X: Columns) -> tuple[np.ndarray, Explanation]:
        """Churn probabilities and their explanation, preprocessing X once.

        Equal to ``(predict_proba(X)[:, 1], explain(X))``, at about half the
        cost: what scoring and serving call.
        """
        designs = self._designs(X)
        probability = self._calibrated(self._blend(self._logits(designs)))
        return probability, self._explanation(designs, _index_of(X))

    def _explanation(
        self, designs: Mapping[str, np.ndarray], index: pd.Index
    ) -> Explanation:
        views = self._views()
        total = np.zeros((len(index), len(self.feature_names_in_)))
        base_value = 0.0
        for name in self.members_:
            base, values = self._explain_member(name, designs[name])
            weight = self.weights_[name]
            # One-hot and indicator columns fold back onto their feature.
            total += weight * (values @ views[name].fold)
            base_value += weight * base
        contributions = pd.DataFrame(total, index=index, columns=self._feature_index())
        return Explanation(base_value, contributions, self.calibration_slope_)

    def _feature_index(self) -> pd.Index:
        # Built once: a new Index per call cost a served account ~0.05 ms.
        if "_feature_columns" not in self.__dict__:
            self.__dict__["_feature_columns"] = pd.Index(list(self.feature_names_in_))
        return self.__dict__["_feature_columns"]

    def _explain_member(
        self, name: str, design: np.ndarray
    ) -> tuple[float, np.ndarray]:
        model = self.members_[name].named_steps["model"]
        if isinstance(model, LGBMClassifier | XGBClassifier):
            tables = self._tree_tables(name)
            if tables is not None:
                return tables.base_value, tables.shap_values(design)
            # No tables (trees too deep, or not readable as paths): the library's
            # own TreeSHAP (what shap's TreeExplainer calls).
            contributions = _library_predict(model, design, "contributions")
            base = float(contributions[0, -1]) if len(design) else 0.0
            return base, np.asarray(contributions[:, :-1], dtype=float)
        # Linear SHAP with independent features: coefficient times the distance
        # from the mean member-fit row (shap's LinearExplainer, in closed form).
        coef = np.asarray(model.coef_[0], dtype=float)
        mean = self._background_mean(name)
        base = float(model.intercept_[0] + mean @ coef)
        return base, (design - mean) * coef

    def _tree_tables(self, name: str) -> TreeTables | None:
        # Tabulated once per fitted member (about a second for 300 trees);
        # None when the trees are too deep, and the library explains instead.
        cache = self.__dict__.setdefault("_tree_shap_tables", {})
        if name not in cache:
            paths = self._tree_paths(name)
            try:
                cache[name] = None if paths is None else TreeTables.of(paths)
            except ValueError as error:
                logger.info("Tree SHAP from the library, not tables: %s", error)
                cache[name] = None
        return cache[name]

    def _background_mean(self, name: str) -> np.ndarray:
        cache = self.__dict__.setdefault("_background_means", {})
        if name not in cache:
            design = self._views()[name].design.transform_columns(self._background_)
            cache[name] = design.mean(axis=0)
        return cache[name]

    def __getstate__(self) -> dict[str, Any]:
        # Caches are rebuilt on demand; pickles (MLflow, Kedro) stay lean.
        state = super().__getstate__()
        for cache in _CACHES:
            state.pop(cache, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Models pickled before TreePaths carry their XGBoost routing arrays
        # (models/xgboost_margin.py); the paths are rebuilt instead.
        state = {k: v for k, v in state.items() if k != _LEGACY_XGBOOST_LEAVES}
        super().__setstate__(state)


@dataclass(frozen=True)
class _MemberView:
    """What scoring needs of a fitted member: its design and its column fold."""

    design: DesignMatrix
    fold: np.ndarray  # (design columns, input features), 1 where a column's source


_CACHES = (
    "_feature_columns",
    "_member_views",
    "_background_means",
    "_member_tree_paths",
    "_tree_shap_tables",
)
_LEGACY_XGBOOST_LEAVES = "_xgboost_leaves_"
# Up to this many rows, the libraries predict on the calling thread alone: a few
# rows finish before a thread pool wakes up, and waking it on a busy server (other
# requests, the other library's pool) costs milliseconds.
_FEW_ROWS = 256
# What the library is asked for: its (LightGBM, XGBoost) predict option.
_LIBRARY_OUTPUTS = {
    "margin": ("raw_score", "output_margin"),
    "contributions": ("pred_contrib", "pred_contribs"),
}


def _library_predict(
    model: LGBMClassifier | XGBClassifier,
    design: np.ndarray,
    output: Literal["margin", "contributions"],
) -> np.ndarray:
    """What XGBoost or LightGBM itself predicts for ``design``.

    ``"margin"``: the raw score (XGBoost adds its leaves in float32);
    ``"contributions"``: TreeSHAP values plus the expected raw score as the last
    column.
    """
    lightgbm_option, xgboost_option = _LIBRARY_OUTPUTS[output]
    few = len(design) <= _FEW_ROWS
    if isinstance(model, LGBMClassifier):
        threads = {"num_threads": 1} if few else {}
        return model.booster_.predict(design, **{lightgbm_option: True}, **threads)
    nthread = 1 if few else 0  # 0: XGBoost's own choice
    with xgboost.config_context(nthread=nthread):
        return model.get_booster().predict(
            xgboost.DMatrix(design, nthread=nthread),
            validate_features=False,
            **{xgboost_option: True},
        )


def _index_of(X: Columns) -> pd.Index:
    return X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(n_rows(X))


def _dates(periods: pd.Series) -> list[str]:
    return [str(pd.Timestamp(d).date()) for d in np.sort(periods.unique())]


def _fit_blend(
    member_logits: Mapping[str, np.ndarray], y: np.ndarray
) -> tuple[dict[str, float], float, float]:
    """Weights, Platt slope and intercept from one non-negative logistic fit.

    ``P(churn) = expit(a + sum_i b_i z_i)`` with ``b_i >= 0`` fitted by maximum
    likelihood on the members' log-odds ``z_i``: weights are ``b / sum(b)``, the
    slope ``sum(b)``. Non-negative weights keep every member's monotone
    guarantees in the blend and cannot overfit like free stacking.
    """
    names = list(member_logits)
    logits = np.column_stack([member_logits[name] for name in names])
    y = np.asarray(y, dtype=float)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        margin = theta[0] + logits @ theta[1:]
        value = -np.sum(y * log_expit(margin) + (1 - y) * log_expit(-margin))
        residual = expit(margin) - y
        return float(value), np.concatenate([[residual.sum()], logits.T @ residual])

    rate = np.clip(y.mean(), 1e-6, 1 - 1e-6)
    start = np.concatenate([[np.log(rate / (1 - rate))], np.full(len(names), 0.1)])
    bounds = [(None, None)] + [(0.0, None)] * len(names)
    fitted = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    coefficients = np.maximum(fitted.x[1:], 0.0)
    slope = float(coefficients.sum())
    if slope <= 0.0:
        # No member ranks better than chance here: equal weights, flat scores.
        weights = dict.fromkeys(names, 1.0 / len(names))
    else:
        weights = {
            n: float(c / slope) for n, c in zip(names, coefficients, strict=True)
        }
    return weights, slope, float(fitted.x[0])
