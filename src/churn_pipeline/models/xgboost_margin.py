"""XGBoost's raw score summed in float64, so SHAP values add up to it exactly.

``XGBClassifier.predict(output_margin=True)`` adds the trees' leaf values in
float32: on margins near 10 that is ~5e-6 off, more than the 1e-6 to which the
explanations must add up to the score. Here every row is routed to its leaves
the way XGBoost routes it (features as float32, ``value < split`` goes to
"yes", a missing value to the default branch), and the leaf values, which are
float32 numbers, are added in float64.

Routing in numpy also skips building a ``DMatrix`` and waking XGBoost's thread
pool, which cost more than the trees themselves when one account is scored.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from xgboost import XGBClassifier

_BINARY_OBJECTIVE = "binary:logistic"
# Rows routed at once: bounds the (rows x trees) work arrays to a few MB.
_CHUNK_ROWS = 4096


@dataclass(frozen=True)
class LeafValues:
    """The trees of a fitted binary XGBoost model, as arrays.

    Every array is ``(n_trees, n_nodes)``, indexed by XGBoost's node ids.

    Attributes:
        values: Leaf value of each leaf; NaN where a node is not a leaf.
        base_margin: The model's starting score in log-odds.
        feature: Split feature of each split node (0 at leaves).
        threshold: Split value (float32), ``value < threshold`` goes to ``yes``.
        yes: Child for values below the split; a leaf points at itself.
        no: Child for the other values; a leaf points at itself.
        missing: Child for missing values; a leaf points at itself.
        depth: Most splits from the root to a leaf.
    """

    values: np.ndarray
    base_margin: float
    feature: np.ndarray
    threshold: np.ndarray
    yes: np.ndarray
    no: np.ndarray
    missing: np.ndarray
    depth: int

    @classmethod
    def of(cls, model: XGBClassifier) -> LeafValues:
        """Read the trees and base score of a fitted classifier.

        Raises:
            ValueError: If the model's objective is not ``binary:logistic``.
        """
        trees = dumped_trees(model)
        n_nodes = 1 + max(node["nodeid"] for tree in trees for node, _ in tree)
        shape = (len(trees), n_nodes)
        values = np.full(shape, np.nan)
        feature = np.zeros(shape, dtype=np.intp)
        threshold = np.zeros(shape, dtype=np.float32)
        # Unused node ids point at themselves too; no row ever reaches them.
        yes, no, missing = (np.tile(np.arange(n_nodes), (len(trees), 1)) for _ in "ynm")
        depth = 0
        for t, tree in enumerate(trees):
            for node, level in tree:
                i = node["nodeid"]
                depth = max(depth, level)
                if "leaf" in node:
                    values[t, i] = float(node["leaf"])
                    continue
                feature[t, i] = node["feature"]
                threshold[t, i] = np.float32(node["split_condition"])
                yes[t, i], no[t, i], missing[t, i] = (
                    node["yes"],
                    node["no"],
                    node["missing"],
                )
        return cls(
            values,
            base_margin(model),
            feature,
            threshold,
            yes,
            no,
            missing,
            depth,
        )

    def leaves(self, X: Any) -> np.ndarray:
        """The leaf each row reaches in each tree, ``(n_rows, n_trees)``."""
        X = np.asarray(X, dtype=np.float32)  # XGBoost compares in float32
        chunks = [
            self._route(X[start : start + _CHUNK_ROWS])
            for start in range(0, len(X), _CHUNK_ROWS)
        ]
        return np.vstack(chunks) if chunks else np.empty((0, len(self.values)), int)

    def _route(self, X: np.ndarray) -> np.ndarray:
        trees = np.arange(len(self.values))
        node = np.zeros((len(X), len(trees)), dtype=np.intp)
        for _ in range(self.depth):
            value = np.take_along_axis(X, self.feature[trees, node], axis=1)
            with np.errstate(invalid="ignore"):
                below = value < self.threshold[trees, node]
            node = np.where(
                np.isnan(value),
                self.missing[trees, node],
                np.where(below, self.yes[trees, node], self.no[trees, node]),
            )
        return node

    def margin(self, X: Any) -> np.ndarray:
        """Raw scores (log-odds) of the rows of ``X``, in float64."""
        nodes = self.leaves(X)
        trees = np.arange(nodes.shape[1])
        return self.base_margin + self.values[trees, nodes].sum(axis=1)


def base_margin(model: XGBClassifier) -> float:
    """The model's starting score in log-odds.

    Raises:
        ValueError: If the model's objective is not ``binary:logistic``.
    """
    learner = json.loads(model.get_booster().save_config())["learner"]
    objective = learner["objective"]["name"]
    if objective != _BINARY_OBJECTIVE:
        raise ValueError(
            f"Exact margins need objective {_BINARY_OBJECTIVE!r}, got {objective!r}"
        )
    # Stored as a probability, e.g. "[2.9354839E-2]".
    base_score = float(learner["learner_model_param"]["base_score"].strip("[]"))
    return math.log(base_score / (1.0 - base_score))


def dumped_trees(
    model: XGBClassifier, *, with_stats: bool = False
) -> list[list[tuple[dict[str, Any], int]]]:
    """Every tree of the model's JSON dump: its nodes with their depth, root first.

    Split nodes get ``"feature"``, the column index their ``"split"`` names.
    ``with_stats`` adds each node's ``"cover"``.
    """
    booster = model.get_booster()
    index = {name: i for i, name in enumerate(booster.feature_names or [])}
    trees = []
    for dumped in booster.get_dump(dump_format="json", with_stats=with_stats):
        nodes = _nodes(json.loads(dumped))
        for node, _ in nodes:
            if "split" in node:
                split = node["split"]
                node["feature"] = index[split] if split in index else int(split[1:])
        trees.append(nodes)
    return trees


def _nodes(node: dict[str, Any], level: int = 0) -> list[tuple[dict[str, Any], int]]:
    """Every node of a dumped tree with its depth, root first."""
    found = [(node, level)]
    for child in node.get("children", []):
        found.extend(_nodes(child, level + 1))
    return found
