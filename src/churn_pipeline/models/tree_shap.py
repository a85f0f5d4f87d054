"""Exact path-dependent tree SHAP from per-leaf tables.

:class:`TreeTables` computes what XGBoost's and LightGBM's ``pred_contrib`` and
shap's ``TreeExplainer`` compute, on the arrays of
:class:`~churn_pipeline.models.tree_paths.TreePaths`. It sums, over the leaves
of every tree, the Shapley values of a small game: with ``F`` the distinct
features on the path to leaf ``l``, ``z_j`` the share of training cover that
follows the path at the splits on feature ``j`` and ``o_j`` whether the account
follows them all (0 or 1), a coalition ``S`` is worth ``v_l * prod(o_j, j in S)
* prod(z_j, j not in S)``. A leaf's Shapley values depend on the account only
through the bits ``o``, so for trees of moderate depth they can be tabulated
once per model (``2**d`` rows of ``d`` values for ``d`` path features; the
"Fast TreeSHAP v2" idea of Yang, 2021). Explaining an account is then one
comparison per split and one table row per leaf, faster than the libraries'
own TreeSHAP. The values add up to the float64 margin to ~1e-12. Trees whose
tables would be too large (deep, unconstrained trees) are refused with
``ValueError``; the explainer then asks the library instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from churn_pipeline.models.tree_paths import TreePaths, as_matrix, goes_left

# Most table values one model may need (8 bytes each): 32 MB.
MAX_TABLE_VALUES = 1 << 22
# Below this many rows SHAP runs row by row (see _shap_by_leaf).
_FEW_ROWS = 4


@dataclass(frozen=True)
class TreeTables:
    """Per-leaf Shapley tables of a tree ensemble, ready for :meth:`shap_values`.

    Built with :meth:`of`: each leaf's table is ``2**d`` rows of ``d`` values,
    one row per pattern of followed path features.

    Attributes:
        paths: The ensemble's splits and leaf paths.
        base_value: Expected raw score (the SHAP base value), float64.
    """

    paths: TreePaths
    base_value: float
    table_start: np.ndarray
    table: np.ndarray

    @classmethod
    def of(cls, paths: TreePaths) -> TreeTables:
        """Tabulate every leaf of ``paths``.

        Raises:
            ValueError: If the tables would exceed ``MAX_TABLE_VALUES`` values.
        """
        depth = np.diff(paths.slot_start)
        sizes = (np.left_shift(1, depth) * depth).astype(np.int64)
        total = int(sizes.sum())
        if total > MAX_TABLE_VALUES:
            raise ValueError(
                f"SHAP tables would need {total} values, more than "
                f"{MAX_TABLE_VALUES}; the trees are too deep for tabulation"
            )
        table_start = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        table = np.zeros(total)
        expected = _fill_tables(
            paths.slot_start,
            paths.slot_zero_fraction,
            paths.leaf_value,
            table_start,
            table,
        )
        return cls(paths, float(paths.base_margin + expected), table_start, table)

    @property
    def n_features(self) -> int:
        """Width of the design matrix the trees split on."""
        return self.paths.n_features

    def shap_values(self, X: np.ndarray) -> np.ndarray:
        """SHAP values of the rows of ``X`` in raw-score (log-odds) units.

        Args:
            X: ``(n, n_features)`` design matrix, NaN for missing.

        Returns:
            ``(n, n_features)`` float64; each row adds up to the row's
            :meth:`TreePaths.margin` minus :attr:`base_value`.
        """
        paths = self.paths
        X = as_matrix(X, paths.n_features)
        kernel = _shap_by_leaf if len(X) >= _FEW_ROWS else _shap_by_row
        leaves = (
            paths.step_start,
            paths.step_split,
            paths.step_left,
            paths.step_slot,
            paths.slot_start,
            paths.slot_feature,
            self.table_start,
            self.table,
        )
        return kernel(X, paths.routing(), leaves)


# ------------------------------------------------------------------ tabulating
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
# ``leaves``: each leaf's steps, slots and table (see TreeTables.shap_values).
@numba.njit(cache=True, nogil=True)
def _directions(X, routing):
    """Whether each row goes left at each split, ``(n_splits, n_rows)``."""
    feature, threshold, kind, default_left, _, _ = routing
    left = np.empty((len(feature), X.shape[0]), dtype=np.bool_)
    for split in range(len(feature)):
        for row in range(X.shape[0]):
            left[split, row] = goes_left(
                X[row, feature[split]],
                threshold[split],
                kind[split],
                default_left[split],
            )
    return left


@numba.njit(cache=True, nogil=True)
def _table_row(table_start, leaf, d, missed):
    """Where a leaf's table row starts: its followed slots are those not missed."""
    return table_start[leaf] + (((1 << d) - 1) & ~missed) * d


@numba.njit(cache=True, nogil=True)
def _shap_by_row(X, routing, leaves):
    step_start, step_split, step_left, step_slot, slot_start, slot_feature = leaves[:6]
    table_start, table = leaves[6], leaves[7]
    phi = np.zeros((X.shape[0], X.shape[1]))
    left = _directions(X, routing)
    n_leaves = len(table_start)
    row_start = np.empty(n_leaves, dtype=np.int64)
    for row in range(X.shape[0]):
        # Two passes, the first without branches: on the serving path the
        # caches and branch history are cold, and finding every leaf's table
        # row before reading any lets the reads overlap.
        for leaf in range(n_leaves):
            missed = 0
            for step in range(step_start[leaf], step_start[leaf + 1]):
                off_path = left[step_split[step], row] != step_left[step]
                missed |= np.int64(off_path) << step_slot[step]
            d = slot_start[leaf + 1] - slot_start[leaf]
            row_start[leaf] = _table_row(table_start, leaf, d, missed)
        for leaf in range(n_leaves):
            first = slot_start[leaf]
            start = row_start[leaf]
            for slot in range(slot_start[leaf + 1] - first):
                phi[row, slot_feature[first + slot]] += table[start + slot]
    return phi


@numba.njit(cache=True, nogil=True)
def _shap_by_leaf(X, routing, leaves):
    """:func:`_shap_by_row` with the loops swapped: bit for bit the same values.

    Each leaf's steps and table are read once for all rows, and the rows'
    split directions lie side by side, so the inner loops run without branches
    over contiguous memory: faster from a few rows up, slower for one or two.
    """
    step_start, step_split, step_left, step_slot, slot_start, slot_feature = leaves[:6]
    table_start, table = leaves[6], leaves[7]
    n_rows = X.shape[0]
    phi = np.zeros((n_rows, X.shape[1]))
    left = _directions(X, routing)
    missed = np.empty(n_rows, dtype=np.int64)
    for leaf in range(len(table_start)):
        first = slot_start[leaf]
        d = slot_start[leaf + 1] - first
        if d == 0:
            continue
        missed[:] = 0
        for step in range(step_start[leaf], step_start[leaf + 1]):
            split = step_split[step]
            goes_left = step_left[step]
            slot = step_slot[step]
            for row in range(n_rows):
                missed[row] |= np.int64(left[split, row] != goes_left) << slot
        for row in range(n_rows):
            row_start = _table_row(table_start, leaf, d, missed[row])
            for slot in range(d):
                phi[row, slot_feature[first + slot]] += table[row_start + slot]
    return phi
