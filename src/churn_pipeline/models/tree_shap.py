"""Exact tree SHAP from per-leaf tables: the same values as TreeSHAP, ~10x faster.

Path-dependent TreeSHAP (what XGBoost's and LightGBM's ``pred_contrib`` and
shap's ``TreeExplainer`` compute) sums, over the leaves of every tree, the
Shapley values of a small game: with ``F`` the distinct features on the path to
leaf ``l``, ``z_j`` the share of training cover that follows the path at the
splits on feature ``j`` and ``o_j`` whether the account follows them all (0 or
1), a coalition ``S`` is worth ``v_l * prod(o_j, j in S) * prod(z_j, j not in
S)``. A leaf's Shapley values depend on the account only through the bits
``o``, so for trees of moderate depth they can be tabulated once per model
(``2**d`` rows of ``d`` values for ``d`` path features; the "Fast TreeSHAP v2"
idea of Yang, 2021). Explaining an account is then one comparison per split and
one table row per leaf, compiled with numba: about 0.05 ms per account for the
300-tree members here, against 0.3-1 ms in the libraries.

The values are computed in float64 and add up to the float64 raw score to
~1e-12. Trees whose tables would be too large (deep, unconstrained trees) are
refused with ``ValueError``; the ensemble then asks the library instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from lightgbm import LGBMClassifier
from xgboost import XGBClassifier

from churn_pipeline.models.xgboost_margin import base_margin, dumped_trees

# How a split routes a value (see _goes_left).
XGBOOST_SPLIT = 0  # float32 value < threshold; missing -> default branch
LIGHTGBM_NAN = 1  # value <= threshold; NaN -> default branch
LIGHTGBM_NONE = 2  # NaN counts as 0.0
LIGHTGBM_ZERO = 3  # NaN and 0.0 -> default branch
_LIGHTGBM_KINDS = {"NaN": LIGHTGBM_NAN, "None": LIGHTGBM_NONE, "Zero": LIGHTGBM_ZERO}
_ZERO = 1e-35  # LightGBM's kZeroThreshold
# Most table values one model may need (8 bytes each): 32 MB.
MAX_TABLE_VALUES = 1 << 22


@dataclass(frozen=True)
class _Node:
    feature: int
    threshold: float
    kind: int
    default_left: bool
    left: int  # index into the tree's node list
    right: int
    cover: float
    value: float  # leaves only


@dataclass(frozen=True)
class TreeTables:
    """Per-leaf Shapley tables of a tree ensemble, ready for :meth:`shap_values`.

    Built with :meth:`of`. Splits are numbered across the ensemble; leaves store
    their path as (split, goes left, feature slot) steps and their table as
    ``2**d`` rows of ``d`` values, one row per pattern of followed features.

    Attributes:
        base_value: Expected raw score (the SHAP base value), float64.
        n_features: Width of the design matrix the trees split on.
    """

    base_value: float
    n_features: int
    split_feature: np.ndarray
    split_threshold: np.ndarray
    split_kind: np.ndarray
    split_default_left: np.ndarray
    step_start: np.ndarray
    step_split: np.ndarray
    step_left: np.ndarray
    step_slot: np.ndarray
    slot_start: np.ndarray
    slot_feature: np.ndarray
    table_start: np.ndarray
    table: np.ndarray

    @classmethod
    def of(cls, model: XGBClassifier | LGBMClassifier, n_features: int) -> TreeTables:
        """Tabulate a fitted binary XGBoost or LightGBM classifier.

        Raises:
            ValueError: If the model is neither, uses categorical splits, or its
                tables would exceed ``MAX_TABLE_VALUES``.
        """
        if isinstance(model, XGBClassifier):
            trees, base = _xgboost_trees(model)
        elif isinstance(model, LGBMClassifier):
            trees, base = _lightgbm_trees(model), 0.0
        else:
            raise ValueError(f"TreeTables reads XGBoost or LightGBM, got {model!r}")
        return _tabulate(trees, base, n_features)

    def shap_values(self, X: np.ndarray) -> np.ndarray:
        """SHAP values of the rows of ``X`` in raw-score (log-odds) units.

        Args:
            X: ``(n, n_features)`` design matrix, NaN for missing.

        Returns:
            ``(n, n_features)`` float64; each row adds up to the row's raw score
            minus :attr:`base_value`.
        """
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(
                f"Expected a matrix with {self.n_features} columns, got {X.shape}"
            )
        return _shap_rows(
            X,
            self.n_features,
            self.split_feature,
            self.split_threshold,
            self.split_kind,
            self.split_default_left,
            self.step_start,
            self.step_split,
            self.step_left,
            self.step_slot,
            self.slot_start,
            self.slot_feature,
            self.table_start,
            self.table,
        )


# --------------------------------------------------------------------- parsing
def _xgboost_trees(model: XGBClassifier) -> tuple[list[list[_Node]], float]:
    trees = []
    for dumped in dumped_trees(model, with_stats=True):
        flat = {int(node["nodeid"]): node for node, _ in dumped}
        order = sorted(flat)
        index = {node_id: i for i, node_id in enumerate(order)}
        nodes = []
        for node_id in order:
            node = flat[node_id]
            if "leaf" in node:
                nodes.append(_leaf(float(node["leaf"]), float(node["cover"])))
                continue
            nodes.append(
                _Node(
                    feature=node["feature"],
                    threshold=float(np.float32(node["split_condition"])),
                    kind=XGBOOST_SPLIT,
                    default_left=node["missing"] == node["yes"],
                    left=index[node["yes"]],
                    right=index[node["no"]],
                    cover=float(node["cover"]),
                    value=0.0,
                )
            )
        trees.append(nodes)
    return trees, base_margin(model)


def _lightgbm_trees(model: LGBMClassifier) -> list[list[_Node]]:
    trees = []
    for info in model.booster_.dump_model()["tree_info"]:
        nodes: list[_Node] = []
        _lightgbm_node(info["tree_structure"], nodes)
        trees.append(nodes)
    return trees


def _lightgbm_node(node: dict[str, Any], nodes: list[_Node]) -> int:
    """Append ``node`` and its subtree to ``nodes``; return its index."""
    if "leaf_value" in node:
        nodes.append(_leaf(float(node["leaf_value"]), float(node.get("leaf_count", 1))))
        return len(nodes) - 1
    if node["decision_type"] != "<=":
        raise ValueError("TreeTables reads numeric (<=) LightGBM splits only")
    position = len(nodes)
    nodes.append(_leaf(0.0, 0.0))  # placeholder until the children have indices
    left = _lightgbm_node(node["left_child"], nodes)
    right = _lightgbm_node(node["right_child"], nodes)
    nodes[position] = _Node(
        feature=int(node["split_feature"]),
        threshold=float(node["threshold"]),
        kind=_LIGHTGBM_KINDS[node["missing_type"]],
        default_left=bool(node["default_left"]),
        left=left,
        right=right,
        cover=float(node["internal_count"]),
        value=0.0,
    )
    return position


def _leaf(value: float, cover: float) -> _Node:
    return _Node(-1, 0.0, -1, False, -1, -1, cover, value)


# ------------------------------------------------------------------ tabulating
def _tabulate(trees: list[list[_Node]], base: float, n_features: int) -> TreeTables:
    splits: list[_Node] = []
    steps: list[tuple[int, bool, int]] = []
    step_start, slot_start, slot_feature, table_start = [0], [0], [], []
    zero_fractions: list[float] = []
    leaf_values: list[float] = []
    table_size = 0
    for nodes in trees:
        split_id = {}
        for i, node in enumerate(nodes):
            if node.left >= 0:
                split_id[i] = len(splits)
                splits.append(node)
        for leaf, path in _leaf_paths(nodes):
            slots: dict[int, int] = {}
            zero = []
            for parent, goes_left in path:
                split = nodes[parent]
                child = split.left if goes_left else split.right
                fraction = nodes[child].cover / split.cover if split.cover else 0.0
                slot = slots.setdefault(split.feature, len(slots))
                if slot == len(zero):
                    zero.append(fraction)
                else:  # the feature split again: its fractions multiply
                    zero[slot] *= fraction
                steps.append((split_id[parent], goes_left, slot))
            step_start.append(len(steps))
            slot_feature.extend(slots)
            slot_start.append(len(slot_feature))
            zero_fractions.extend(zero)
            leaf_values.append(nodes[leaf].value)
            table_start.append(table_size)
            table_size += (1 << len(slots)) * len(slots)
            if table_size > MAX_TABLE_VALUES:
                raise ValueError(
                    f"SHAP tables would exceed {MAX_TABLE_VALUES} values; the trees "
                    "are too deep for tabulation"
                )
    slot_starts = np.asarray(slot_start, dtype=np.int64)
    table_starts = np.asarray(table_start, dtype=np.int64)
    table = np.zeros(table_size)
    expected = _fill_tables(
        slot_starts,
        np.asarray(zero_fractions, dtype=np.float64),
        np.asarray(leaf_values, dtype=np.float64),
        table_starts,
        table,
    )
    step_array = np.asarray(steps, dtype=np.int64).reshape(-1, 3)
    return TreeTables(
        base_value=float(base + expected),
        n_features=n_features,
        split_feature=np.asarray([s.feature for s in splits], dtype=np.int64),
        split_threshold=np.asarray([s.threshold for s in splits], dtype=np.float64),
        split_kind=np.asarray([s.kind for s in splits], dtype=np.int64),
        split_default_left=np.asarray([s.default_left for s in splits], dtype=bool),
        step_start=np.asarray(step_start, dtype=np.int64),
        step_split=step_array[:, 0].copy(),
        step_left=step_array[:, 1].astype(bool),
        step_slot=step_array[:, 2].copy(),
        slot_start=slot_starts,
        slot_feature=np.asarray(slot_feature, dtype=np.int64),
        table_start=table_starts,
        table=table,
    )


def _leaf_paths(nodes: list[_Node]) -> list[tuple[int, list[tuple[int, bool]]]]:
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


@numba.njit(cache=True, nogil=True)
def _fill_tables(slot_start, zero_fraction, leaf_value, table_start, table):
    """Fill every leaf's table; return the summed expected leaf values.

    Row ``mask`` (bit j: the account follows the splits on slot j), column i:
    ``v (o_i - z_i) sum_S |S|! (d-|S|-1)! / d! prod_{j not in S, j != i} z_j``
    over the subsets S of the followed slots other than i.
    """
    expected = 0.0
    for leaf in range(len(leaf_value)):
        first = slot_start[leaf]
        d = slot_start[leaf + 1] - first
        value = leaf_value[leaf]
        full = 1 << d
        # rest[m]: product of z_j over the slots j not in m.
        rest = np.ones(full)
        for m in range(full):
            for j in range(d):
                if not (m >> j) & 1:
                    rest[m] *= zero_fraction[first + j]
        expected += value * rest[0]
        weight = np.empty(d)
        for size in range(d):
            weight[size] = _factorial(size) * _factorial(d - size - 1) / _factorial(d)
        for mask in range(full):
            for i in range(d):
                followed = (mask >> i) & 1
                others = mask & ~(1 << i)
                total = 0.0
                sub = others
                while True:  # every subset of the followed slots but i
                    total += weight[_popcount(sub)] * rest[sub | (1 << i)]
                    if sub == 0:
                        break
                    sub = (sub - 1) & others
                z = zero_fraction[first + i]
                table[table_start[leaf] + mask * d + i] = value * (followed - z) * total
    return expected


@numba.njit(cache=True, nogil=True)
def _factorial(n):
    result = 1.0
    for k in range(2, n + 1):
        result *= k
    return result


@numba.njit(cache=True, nogil=True)
def _popcount(m):
    count = 0
    while m:
        m &= m - 1
        count += 1
    return count


# ------------------------------------------------------------------ explaining
@numba.njit(cache=True, nogil=True)
def _goes_left(value, threshold, kind, default_left):
    if kind == XGBOOST_SPLIT:
        if np.isnan(value):
            return default_left
        return np.float32(value) < np.float32(threshold)
    if np.isnan(value):
        if kind == LIGHTGBM_NONE:
            value = 0.0
        else:
            return default_left
    if kind == LIGHTGBM_ZERO and abs(value) <= _ZERO:
        return default_left
    return value <= threshold


@numba.njit(cache=True, nogil=True)
def _shap_rows(
    X,
    n_features,
    split_feature,
    split_threshold,
    split_kind,
    split_default_left,
    step_start,
    step_split,
    step_left,
    step_slot,
    slot_start,
    slot_feature,
    table_start,
    table,
):
    n_rows = X.shape[0]
    n_leaves = len(table_start)
    phi = np.zeros((n_rows, n_features))
    left = np.empty(len(split_feature), dtype=np.bool_)
    for row in range(n_rows):
        for split in range(len(split_feature)):
            left[split] = _goes_left(
                X[row, split_feature[split]],
                split_threshold[split],
                split_kind[split],
                split_default_left[split],
            )
        for leaf in range(n_leaves):
            first = slot_start[leaf]
            d = slot_start[leaf + 1] - first
            if d == 0:
                continue
            mask = (1 << d) - 1
            for step in range(step_start[leaf], step_start[leaf + 1]):
                if left[step_split[step]] != step_left[step]:
                    mask &= ~(1 << step_slot[step])
            row_start = table_start[leaf] + mask * d
            for slot in range(d):
                phi[row, slot_feature[first + slot]] += table[row_start + slot]
    return phi
