"""Exact SHAP explanations of a fitted :class:`ChurnEnsemble`.

Each member is explained exactly in its own log-odds (path-dependent tree SHAP
from per-leaf tables for XGBoost and LightGBM, linear SHAP against the mean
member-fit row for the logistic regression); the ensemble score is linear in
those, so weighting the members' contributions explains it exactly. Shapley
values add, so summing each driver's features (:meth:`Explanation.by_driver`) is
exact too.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from churn_pipeline.features.specs import DRIVERS, Driver, driver_of
from churn_pipeline.models.columns import Columns, n_rows
from churn_pipeline.models.members import MemberRoute, is_tree, library_predict
from churn_pipeline.models.preprocessing import source_features
from churn_pipeline.models.tree_shap import TreeTables

if TYPE_CHECKING:
    from churn_pipeline.models.ensemble import ChurnEnsemble

logger = logging.getLogger(__name__)


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

    def by_driver(self) -> Explanation:
        """The same explanation with one column per driver (:func:`driver_groups`).

        Each driver's contribution is the sum of its features' (exact: Shapley
        values add), so ``base_value + row sum`` is still the score.
        """
        groups = driver_groups(tuple(self.contributions.columns))
        summed = self.contributions.to_numpy(dtype=float) @ groups.membership
        frame = pd.DataFrame(
            summed, index=self.contributions.index, columns=list(groups.names)
        )
        return Explanation(self.base_value, frame, self.calibration_slope)


@dataclass(frozen=True)
class DriverGroups:
    """Which driver each column of a feature list belongs to.

    Attributes:
        columns: The feature columns.
        drivers: The drivers with at least one of ``columns``: registry order,
            then the columns outside the registry, each a driver of its own.
        membership: ``(columns, drivers)``, 1.0 where a column is the driver's;
            contributions ``@ membership`` are the driver sums. Read-only.
        column_driver: Position in ``drivers`` of each column's driver.
        by_driver: Column positions ordered by driver, so each driver's columns
            are contiguous (for ``np.ufunc.reduceat``).
        starts: Where each driver's columns start in ``by_driver``.
    """

    columns: tuple[str, ...]
    drivers: tuple[Driver, ...]
    membership: np.ndarray
    column_driver: np.ndarray
    by_driver: np.ndarray
    starts: np.ndarray

    @property
    def names(self) -> tuple[str, ...]:
        """The drivers' names."""
        return tuple(d.name for d in self.drivers)

    def features_of(self, position: int) -> np.ndarray:
        """Positions in ``columns`` of the features of ``drivers[position]``."""
        return np.flatnonzero(self.column_driver == position)


# Built once per feature list (one per model): every served request asks again.
@functools.lru_cache(maxsize=16)
def driver_groups(columns: tuple[str, ...]) -> DriverGroups:
    """Group a feature list by driver (see :class:`DriverGroups`)."""
    of_column = [driver_of(column) for column in columns]
    present = set(of_column)
    drivers = (
        *(d for d in DRIVERS if d in present),
        *(d for d in dict.fromkeys(of_column) if d not in DRIVERS),
    )
    position = {driver: k for k, driver in enumerate(drivers)}
    column_driver = np.asarray([position[d] for d in of_column], dtype=int)
    membership = np.zeros((len(columns), len(drivers)))
    membership[np.arange(len(columns)), column_driver] = 1.0
    by_driver = np.argsort(column_driver, kind="stable")
    starts = np.searchsorted(column_driver[by_driver], np.arange(len(drivers)))
    for array in (membership, column_driver, by_driver, starts):
        array.flags.writeable = False  # shared by every caller
    return DriverGroups(
        tuple(columns), drivers, membership, column_driver, by_driver, starts
    )


class ChurnExplainer:
    """Explains a fitted ensemble's ``decision_function`` exactly.

    Building one tabulates the tree members' SHAP values (the costly part, done
    once); :meth:`explain` and :meth:`predict_and_explain` then only read the
    tables. Batch scoring and serving both explain through
    :meth:`predict_and_explain`; serving builds its explainer once per loaded
    model.

    Args:
        model: A fitted :class:`~churn_pipeline.models.ensemble.ChurnEnsemble`.

    Attributes:
        model: The explained ensemble.
        feature_names: The input features, the columns of every explanation.

    Raises:
        sklearn.exceptions.NotFittedError: If ``model`` is not fitted.
    """

    def __init__(self, model: ChurnEnsemble) -> None:
        check_is_fitted(model)
        self.model = model
        features = list(model.feature_names_in_)
        self.feature_names = pd.Index(features)
        self._members = {
            name: _MemberExplainer.of(
                route,
                source_features(member.named_steps["preprocess"]),
                features,
                model.background_means_[name],
            )
            for (name, member), route in zip(
                model.members_.items(), model.member_routes.values(), strict=True
            )
        }

    def explain(self, X: Columns) -> Explanation:
        """Exact SHAP contributions to ``model.decision_function(X)``.

        Args:
            X: A DataFrame, or feature name -> one-dimensional array.

        Returns:
            The explanation, folded back to input features.
        """
        return self._explanation(self.model.member_designs(X), _index_of(X))

    def predict_and_explain(self, X: Columns) -> tuple[np.ndarray, Explanation]:
        """Churn probabilities and their explanation, preprocessing X once.

        Equal to ``(model.predict_proba(X)[:, 1], explain(X))`` at a lower cost:
        what scoring and serving call.
        """
        designs = self.model.member_designs(X)
        probability = self.model.proba_of_designs(designs)
        return probability, self._explanation(designs, _index_of(X))

    def _explanation(
        self, designs: dict[str, np.ndarray], index: pd.Index
    ) -> Explanation:
        weights = self.model.weights_
        total = np.zeros((len(index), len(self.feature_names)))
        base_value = 0.0
        for name, member in self._members.items():
            base, values = member.explain(designs[name])
            # One-hot and indicator columns fold back onto their feature.
            total += weights[name] * (values @ member.fold)
            base_value += weights[name] * base
        contributions = pd.DataFrame(total, index=index, columns=self.feature_names)
        return Explanation(base_value, contributions, self.model.calibration_slope_)


@dataclass(frozen=True)
class _MemberExplainer:
    """One member's SHAP values in its own log-odds, folded onto input features.

    Attributes:
        route: The member's estimator, design and tree paths.
        fold: ``(design columns, input features)``, 1 where a column's source.
        tables: Tabulated tree SHAP; ``None`` for the linear member, and for trees
            too deep to tabulate or unreadable as paths (the library explains).
        background_mean: Mean member-fit design row, the linear SHAP reference.
    """

    route: MemberRoute
    fold: np.ndarray
    tables: TreeTables | None
    background_mean: np.ndarray

    @classmethod
    def of(
        cls,
        route: MemberRoute,
        sources: list[str],
        features: list[str],
        background_mean: np.ndarray,
    ) -> _MemberExplainer:
        """Fold a member's design columns (``sources``) and tabulate its trees."""
        fold = np.zeros((len(sources), len(features)))
        fold[np.arange(len(sources)), [features.index(s) for s in sources]] = 1
        tables = None
        if route.paths is not None:
            try:
                tables = TreeTables.of(route.paths)
            except ValueError as error:
                logger.info("Tree SHAP from the library, not tables: %s", error)
        return cls(route, fold, tables, background_mean)

    def explain(self, design: np.ndarray) -> tuple[float, np.ndarray]:
        """The member's base value and SHAP values of the rows of ``design``."""
        model = self.route.model
        if is_tree(model):
            if self.tables is not None:
                return self.tables.base_value, self.tables.shap_values(design)
            # No tables (trees too deep, or not readable as paths): the library's
            # own TreeSHAP (what shap's TreeExplainer calls).
            contributions = library_predict(model, design, "contributions")
            base = float(contributions[0, -1]) if len(design) else 0.0
            return base, np.asarray(contributions[:, :-1], dtype=float)
        # Linear SHAP with independent features: coefficient times the distance
        # from the mean member-fit row (shap's LinearExplainer, in closed form).
        coef = np.asarray(model.coef_[0], dtype=float)
        mean = self.background_mean
        base = float(model.intercept_[0] + mean @ coef)
        return base, (design - mean) * coef


def _index_of(X: Columns) -> pd.Index:
    return X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(n_rows(X))
