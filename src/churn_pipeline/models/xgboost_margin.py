"""XGBoost's raw score summed in float64, so SHAP values add up to it exactly.

``XGBClassifier.predict(output_margin=True)`` adds the trees' leaf values in
float32: on margins near 10 that is ~5e-6 off, more than the 1e-6 to which the
explanations must add up to the score. Here XGBoost still routes every row to
its leaves (``apply``, XGBoost's own comparisons), and the leaf values, which
are float32 numbers, are added in float64.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from xgboost import XGBClassifier

_BINARY_OBJECTIVE = "binary:logistic"


@dataclass(frozen=True)
class LeafValues:
    """Leaf value of every (tree, node) of a fitted binary XGBoost model.

    Attributes:
        values: Array ``(n_trees, n_nodes)``; NaN where a node is not a leaf.
        base_margin: The model's starting score in log-odds.
    """

    values: np.ndarray
    base_margin: float

    @classmethod
    def of(cls, model: XGBClassifier) -> LeafValues:
        """Read the leaf values and base score of a fitted classifier.

        Raises:
            ValueError: If the model's objective is not ``binary:logistic``.
        """
        booster = model.get_booster()
        learner = json.loads(booster.save_config())["learner"]
        objective = learner["objective"]["name"]
        if objective != _BINARY_OBJECTIVE:
            raise ValueError(
                f"Exact margins need objective {_BINARY_OBJECTIVE!r}, got {objective!r}"
            )
        # Stored as a probability, e.g. "[2.9354839E-2]".
        base_score = float(learner["learner_model_param"]["base_score"].strip("[]"))
        trees = [json.loads(tree) for tree in booster.get_dump(dump_format="json")]
        leaves = [dict(_leaves(tree)) for tree in trees]
        n_nodes = 1 + max(max(tree) for tree in leaves)
        values = np.full((len(leaves), n_nodes), np.nan)
        for index, tree in enumerate(leaves):
            values[index, list(tree)] = list(tree.values())
        return cls(values, math.log(base_score / (1.0 - base_score)))

    def margin(self, model: XGBClassifier, X: Any) -> np.ndarray:
        """Raw scores (log-odds) of the rows of ``X``, in float64."""
        nodes = np.asarray(model.apply(X), dtype=np.int64).reshape(len(X), -1)
        trees = np.arange(nodes.shape[1])
        return self.base_margin + self.values[trees, nodes].sum(axis=1)


def _leaves(node: dict[str, Any]) -> list[tuple[int, float]]:
    if "leaf" in node:
        return [(int(node["nodeid"]), float(node["leaf"]))]
    return [pair for child in node["children"] for pair in _leaves(child)]
