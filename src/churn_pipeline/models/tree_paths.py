"""Tree ensembles as flat arrays: exact margins in float64.

:class:`TreePaths` reads a fitted binary XGBoost or LightGBM classifier into
arrays: every split (feature, threshold, how missing values go, children) and
every leaf (value, path from the root). Rows are routed with each library's own
rule (XGBoost: float32 ``value < split``; LightGBM: ``value <= split`` with its
three missing-value modes) in one numba kernel, and the reached leaves' values
are added in float64. The libraries add in float32 (XGBoost) or hide the order,
and SHAP values must add up to the score to 1e-9; routing here also skips
building a ``DMatrix`` and waking thread pools, which cost more than the trees
when one account is scored. :mod:`churn_pipeline.models.tree_shap` explains the
same arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np
from lightgbm import LGBMClassifier
from xgboost import XGBClassifier

from churn_pipeline.models.tree_dump import (
    LIGHTGBM_NAN,
    LIGHTGBM_ZERO,
    LIGHTGBM_ZERO_THRESHOLD,
    XGBOOST_SPLIT,
    Node,
    base_margin,
    lightgbm_trees,
    xgboost_trees,
)


@dataclass(frozen=True)
class TreePaths:
    """A fitted tree ensemble as arrays: splits, children and leaf paths.

    Built with :meth:`of`. Splits are numbered across the ensemble, and so are
    leaves; a child (or a tree's root) is a split number, or ``-1 - leaf`` for
    a leaf. Each leaf also stores its path as (split, goes left, feature slot)
    steps, with the share of training cover that follows the path on each
    slot (what :class:`TreeTables` tabulates).

    Attributes:
        base_margin: The raw score before any tree (log-odds).
        n_features: Width of the design matrix the trees split on.
    """

    base_margin: float
    n_features: int
    tree_root: np.ndarray
    split_feature: np.ndarray
    split_threshold: np.ndarray
    split_kind: np.ndarray
    split_default_left: np.ndarray
    split_left: np.ndarray
    split_right: np.ndarray
    leaf_value: np.ndarray
    leaf_node: np.ndarray
    step_start: np.ndarray
    step_split: np.ndarray
    step_left: np.ndarray
    step_slot: np.ndarray
    slot_start: np.ndarray
    slot_feature: np.ndarray
    slot_zero_fraction: np.ndarray

    @classmethod
    def of(cls, model: XGBClassifier | LGBMClassifier, n_features: int) -> TreePaths:
        """Read a fitted binary XGBoost or LightGBM classifier.

        Raises:
            ValueError: If the model is neither, is not a binary logistic
                XGBoost model, uses categorical splits or linear leaves.
        """
        if isinstance(model, XGBClassifier):
            trees, base = xgboost_trees(model), base_margin(model)
        elif isinstance(model, LGBMClassifier):
            trees, base = lightgbm_trees(model), 0.0
        else:
            raise ValueError(f"TreePaths reads XGBoost or LightGBM, got {model!r}")
        return _flatten(trees, base, n_features)

    def margin(self, X: np.ndarray) -> np.ndarray:
        """Raw scores (log-odds) of the rows of ``X``, leaf values added in float64.

        Args:
            X: ``(n, n_features)`` design matrix, NaN for missing.
        """
        return _margins(
            as_matrix(X, self.n_features),
            self.base_margin,
            self.tree_root,
            self.routing(),
            self.leaf_value,
        )

    def leaves(self, X: np.ndarray) -> np.ndarray:
        """The leaf each row reaches in each tree, ``(n_rows, n_trees)``.

        Leaves are numbered as the library numbers them: XGBoost's node ids
        (``apply``), LightGBM's leaf indices (``pred_leaf``).
        """
        reached = _leaves(as_matrix(X, self.n_features), self.tree_root, self.routing())
        return self.leaf_node[reached]

    def routing(self) -> tuple[np.ndarray, ...]:
        """The split arrays the numba kernels route rows with."""
        return (
            self.split_feature,
            self.split_threshold,
            self.split_kind,
            self.split_default_left,
            self.split_left,
            self.split_right,
        )


def as_matrix(X: np.ndarray, n_features: int) -> np.ndarray:
    """``X`` as a contiguous float64 matrix of ``n_features`` columns.

    Raises:
        ValueError: If ``X`` is not a matrix of that width.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != n_features:
        raise ValueError(f"Expected a matrix with {n_features} columns, got {X.shape}")
    return X


# --------------------------------------------------------------------- flattening
def _flatten(trees: list[list[Node]], base: float, n_features: int) -> TreePaths:
    """Number splits and leaves across the trees and record every leaf's path."""
    flat = _Flat()
    for nodes in trees:
        flat.add_tree(nodes)
    steps = np.asarray(flat.steps, dtype=np.int64).reshape(-1, 3)
    children = np.asarray(flat.children, dtype=np.int64).reshape(-1, 2)
    splits = flat.splits
    return TreePaths(
        base_margin=float(base),
        n_features=n_features,
        tree_root=np.asarray(flat.roots, dtype=np.int64),
        split_feature=np.asarray([s.feature for s in splits], dtype=np.int64),
        split_threshold=np.asarray([s.threshold for s in splits], dtype=np.float64),
        split_kind=np.asarray([s.kind for s in splits], dtype=np.int64),
        split_default_left=np.asarray([s.default_left for s in splits], dtype=bool),
        split_left=children[:, 0].copy(),
        split_right=children[:, 1].copy(),
        leaf_value=np.asarray(flat.leaf_values, dtype=np.float64),
        leaf_node=np.asarray(flat.leaf_nodes, dtype=np.int64),
        step_start=np.asarray(flat.step_start, dtype=np.int64),
        step_split=steps[:, 0].copy(),
        step_left=steps[:, 1].astype(bool),
        step_slot=steps[:, 2].copy(),
        slot_start=np.asarray(flat.slot_start, dtype=np.int64),
        slot_feature=np.asarray(flat.slot_feature, dtype=np.int64),
        slot_zero_fraction=np.asarray(flat.zero_fractions, dtype=np.float64),
    )


@dataclass
class _Flat:
    """The growing lists behind :class:`TreePaths`, filled tree by tree."""

    splits: list[Node] = field(default_factory=list)
    children: list[tuple[int, int]] = field(default_factory=list)
    roots: list[int] = field(default_factory=list)
    steps: list[tuple[int, bool, int]] = field(default_factory=list)
    step_start: list[int] = field(default_factory=lambda: [0])
    slot_start: list[int] = field(default_factory=lambda: [0])
    slot_feature: list[int] = field(default_factory=list)
    zero_fractions: list[float] = field(default_factory=list)
    leaf_values: list[float] = field(default_factory=list)
    leaf_nodes: list[int] = field(default_factory=list)

    def add_tree(self, nodes: list[Node]) -> None:
        # Global numbers: splits count up from 0, leaves as -1 - leaf number.
        number: dict[int, int] = {}
        leaves = _leaf_paths(nodes)
        for i, node in enumerate(nodes):
            if node.left >= 0:
                number[i] = len(self.splits)
                self.splits.append(node)
        for k, (leaf, _) in enumerate(leaves):
            number[leaf] = -1 - (len(self.leaf_values) + k)
        self.roots.append(number[0])
        self.children.extend(
            (number[node.left], number[node.right]) for node in nodes if node.left >= 0
        )
        for leaf, path in leaves:
            self._add_leaf(nodes, leaf, path, number)

    def _add_leaf(
        self,
        nodes: list[Node],
        leaf: int,
        path: list[tuple[int, bool]],
        number: dict[int, int],
    ) -> None:
        slots: dict[int, int] = {}
        zero: list[float] = []
        for parent, goes_left in path:
            split = nodes[parent]
            child = split.left if goes_left else split.right
            fraction = nodes[child].cover / split.cover if split.cover else 0.0
            slot = slots.setdefault(split.feature, len(slots))
            if slot == len(zero):
                zero.append(fraction)
            else:  # the feature split again: its fractions multiply
                zero[slot] *= fraction
            self.steps.append((number[parent], goes_left, slot))
        self.step_start.append(len(self.steps))
        self.slot_feature.extend(slots)
        self.slot_start.append(len(self.slot_feature))
        self.zero_fractions.extend(zero)
        self.leaf_values.append(nodes[leaf].value)
        self.leaf_nodes.append(nodes[leaf].node_id)


def _leaf_paths(nodes: list[Node]) -> list[tuple[int, list[tuple[int, bool]]]]:
    """Every leaf of a tree with its path: (split node, goes left) from the root."""
    found = []
    pending: list[tuple[int, list[tuple[int, bool]]]] = [(0, [])]
    while pending:
        index, path = pending.pop()
        node = nodes[index]
        if node.left < 0:
            found.append((index, path))
            continue
        pending.append((node.right, [*path, (index, False)]))
        pending.append((node.left, [*path, (index, True)]))
    return found


# ------------------------------------------------------------------- routing
@numba.njit(cache=True, nogil=True)
def goes_left(value, threshold, kind, default_left):
    """Whether a value takes a split's left branch, by the library's own rule."""
    if kind == XGBOOST_SPLIT:
        if np.isnan(value):
            return default_left
        return np.float32(value) < np.float32(threshold)
    if np.isnan(value):
        if kind == LIGHTGBM_NAN:
            return default_left
        value = 0.0
    elif abs(value) <= LIGHTGBM_ZERO_THRESHOLD:
        value = 0.0  # LightGBM reads inputs this close to zero as zero
    if kind == LIGHTGBM_ZERO and value == 0.0:
        return default_left
    return value <= threshold


@numba.njit(cache=True, nogil=True)
def _leaf_of(row, node, routing):
    """The leaf number a row reaches from ``node`` (a split number or a leaf).

    ``routing``: the split arrays of :meth:`TreePaths.routing`.
    """
    feature, threshold, kind, default_left, left, right = routing
    while node >= 0:
        if goes_left(
            row[feature[node]], threshold[node], kind[node], default_left[node]
        ):
            node = left[node]
        else:
            node = right[node]
    return -1 - node


@numba.njit(cache=True, nogil=True)
def _leaves(X, tree_root, routing):
    reached = np.empty((X.shape[0], len(tree_root)), dtype=np.int64)
    for row in range(X.shape[0]):
        for tree in range(len(tree_root)):
            reached[row, tree] = _leaf_of(X[row], tree_root[tree], routing)
    return reached


@numba.njit(cache=True, nogil=True)
def _margins(X, base, tree_root, routing, leaf_value):
    margin = np.empty(X.shape[0])
    for row in range(X.shape[0]):
        total = base
        for tree in range(len(tree_root)):
            total += leaf_value[_leaf_of(X[row], tree_root[tree], routing)]
        margin[row] = total
    return margin
