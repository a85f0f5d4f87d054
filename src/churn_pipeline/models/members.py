"""The ensemble's members: which exist, how each is built, fitted and scored."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import xgboost
from lightgbm import LGBMClassifier
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils.class_weight import compute_sample_weight
from xgboost import XGBClassifier

from churn_pipeline.models.design import DesignMatrix, design_of
from churn_pipeline.models.linear import SignConstrainedLogisticRegression
from churn_pipeline.models.preprocessing import MemberKind, make_preprocessor
from churn_pipeline.models.tree_paths import TreePaths

logger = logging.getLogger(__name__)

MEMBERS: dict[str, MemberKind] = {
    "xgboost": "tree",
    "lightgbm": "tree",
    "logistic_regression": "linear",
}
CLASS_WEIGHTS = (None, "balanced")
# Defaults under the configured parameters: deterministic and quiet.
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "xgboost": {"n_jobs": 2, "tree_method": "hist"},
    "lightgbm": {
        "n_jobs": 2,
        "verbose": -1,
        "deterministic": True,
        "force_row_wise": True,
    },
    "logistic_regression": {"C": 1.0, "max_iter": 2000},
}
# Up to this many rows, the libraries predict on the calling thread alone: a few
# rows finish before a thread pool wakes up, and waking it on a busy server (other
# requests, the other library's pool) costs milliseconds.
_FEW_ROWS = 256
# What the library is asked for: its (LightGBM, XGBoost) predict option.
_LIBRARY_OUTPUTS = {
    "margin": ("raw_score", "output_margin"),
    "contributions": ("pred_contrib", "pred_contribs"),
}


def make_member(
    name: str,
    params: Mapping[str, Any],
    numeric: Sequence[str],
    categorical: Sequence[str],
    random_state: int,
) -> Pipeline:
    """An unfitted member: its preprocessing, then its estimator."""
    preprocessor = make_preprocessor(MEMBERS[name], numeric, categorical)
    estimator: BaseEstimator
    if name == "xgboost":
        estimator = XGBClassifier(**{"random_state": random_state, **params})
    elif name == "lightgbm":
        estimator = LGBMClassifier(**{"random_state": random_state, **params})
    else:
        estimator = SignConstrainedLogisticRegression(params=dict(params))
    return Pipeline([("preprocess", preprocessor), ("model", estimator)])


def fit_member(
    member: Pipeline,
    kind: MemberKind,
    X: Any,
    y: np.ndarray,
    *,
    monotone_constraints: Mapping[str, int] | None,
    class_weight: str | None,
    sample_weight: np.ndarray | None = None,
) -> Pipeline:
    """Fit a member's preprocessing, then its estimator on the design matrix.

    Tree members fit on a float32 design matrix (what XGBoost and LightGBM
    bin in anyway: half the memory, the same trees); the linear member on
    float64.

    Args:
        member: From :func:`make_member`.
        kind: ``tree`` or ``linear``.
        X: The member-fit rows.
        y: Their labels.
        monotone_constraints: Feature -> +1 or -1, if any.
        class_weight: ``None`` or ``"balanced"``.
        sample_weight: Weight per row (e.g. the inverse sampling share of
            subsampled non-churners), or ``None``.

    Returns:
        ``member``, fitted.
    """
    weight = combined_weight(y, class_weight, sample_weight)
    preprocess = member.named_steps["preprocess"].fit(X)
    model = member.named_steps["model"]
    if monotone_constraints:
        # Constraints are per output column (one-hot and missing-value
        # indicator columns stay free), known once the preprocessing is fitted.
        signs = [
            int(monotone_constraints.get(str(column), 0))
            for column in preprocess.get_feature_names_out()
        ]
        if kind == "tree":
            model.set_params(monotone_constraints=tuple(signs))
        else:
            model.set_params(signs=signs)
    dtype = np.float32 if kind == "tree" else np.float64
    design = design_of(member).transform_columns(X, dtype)
    model.fit(design, y, sample_weight=weight)
    return member


def combined_weight(
    y: np.ndarray, class_weight: str | None, sample_weight: np.ndarray | None
) -> np.ndarray | None:
    """Row weights: sampling weights times the class weights, if any.

    ``"balanced"`` gives each class half the total weight, counted with the
    sampling weights (the classes of the full slice, not of the sample).

    Args:
        y: Binary labels.
        class_weight: ``None`` or ``"balanced"``.
        sample_weight: Weight per row, or ``None``.

    Returns:
        Weight per row, or ``None`` when every row weighs the same.
    """
    if class_weight is None:
        return None if sample_weight is None else np.asarray(sample_weight, float)
    if sample_weight is None:
        return compute_sample_weight(class_weight, y)
    weight = np.asarray(sample_weight, dtype=float)
    y = np.asarray(y)
    total = weight.sum()
    per_class = {c: total / (2 * weight[y == c].sum()) for c in np.unique(y)}
    return weight * np.array([per_class[c] for c in y])


@dataclass(frozen=True)
class MemberRoute:
    """How a fitted member scores rows: its design and, for trees, its paths.

    Derived from the fitted member, so never pickled (see ``ChurnEnsemble``).

    Attributes:
        model: The member's fitted estimator.
        design: Its preprocessing, applied with numpy.
        paths: Its trees as arrays; ``None`` for the linear member and for trees
            the paths cannot read (the library scores those).
    """

    model: Any
    design: DesignMatrix
    paths: TreePaths | None

    @classmethod
    def of(cls, member: Pipeline) -> MemberRoute:
        """Read a fitted member pipeline."""
        model = member.named_steps["model"]
        design = design_of(member)
        paths = None
        if is_tree(model):
            try:
                paths = TreePaths.of(model, design.n_columns)
            except ValueError as error:
                logger.info("Tree margins from the library, not paths: %s", error)
        return cls(model, design, paths)

    def margin(self, design: np.ndarray) -> np.ndarray:
        """Raw margins (log-odds), not logit(probability): exact, so SHAP adds up."""
        if self.paths is not None:
            margin = self.paths.margin(design)
        elif is_tree(self.model):
            margin = library_predict(self.model, design, "margin")
        else:
            margin = self.model.decision_function(design)
        return np.asarray(margin, dtype=float)


def is_tree(model: Any) -> bool:
    """Whether a member's estimator is an XGBoost or LightGBM classifier."""
    return isinstance(model, LGBMClassifier | XGBClassifier)


def library_predict(
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
