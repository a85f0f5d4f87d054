"""Fitted XGBoost and LightGBM trees read into plain nodes.

:mod:`churn_pipeline.models.tree_paths` flattens these nodes into arrays. Each
split records how the library routes a value: XGBoost compares in float32
(``value < split``); LightGBM uses ``value <= split`` with three missing-value
modes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from lightgbm import LGBMClassifier
from xgboost import XGBClassifier

# How a split routes a value (see tree_paths.goes_left).
XGBOOST_SPLIT = 0  # float32 value < threshold; missing -> default branch
LIGHTGBM_NAN = 1  # value <= threshold; NaN -> default branch
LIGHTGBM_NONE = 2  # NaN counts as 0.0
LIGHTGBM_ZERO = 3  # NaN and 0.0 -> default branch
_LIGHTGBM_KINDS = {"NaN": LIGHTGBM_NAN, "None": LIGHTGBM_NONE, "Zero": LIGHTGBM_ZERO}
# LightGBM's kZeroThreshold: the float 1e-35f, compared as a double.
LIGHTGBM_ZERO_THRESHOLD = float(np.float32(1e-35))
_BINARY_OBJECTIVE = "binary:logistic"


@dataclass(frozen=True)
class Node:
    """One split or leaf of a tree, children as indices into the tree's list."""

    feature: int
    threshold: float
    kind: int
    default_left: bool
    left: int  # index into the tree's node list
    right: int
    cover: float
    value: float  # leaves only
    node_id: int  # the library's number for the node (leaves only)


def base_margin(model: XGBClassifier) -> float:
    """An XGBoost model's starting score in log-odds.

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


def xgboost_trees(model: XGBClassifier) -> list[list[Node]]:
    """Every tree of a fitted XGBoost classifier, root first in each."""
    booster = model.get_booster()
    index = {name: i for i, name in enumerate(booster.feature_names or [])}
    trees = []
    for dumped in booster.get_dump(dump_format="json", with_stats=True):
        flat = {int(node["nodeid"]): node for node in _dumped_nodes(json.loads(dumped))}
        order = sorted(flat)
        position = {node_id: i for i, node_id in enumerate(order)}
        nodes = []
        for node_id in order:
            node = flat[node_id]
            if "leaf" in node:
                nodes.append(
                    leaf_node(float(node["leaf"]), float(node["cover"]), node_id)
                )
                continue
            split = node["split"]
            nodes.append(
                Node(
                    feature=index[split] if split in index else int(split[1:]),
                    threshold=float(np.float32(node["split_condition"])),
                    kind=XGBOOST_SPLIT,
                    default_left=node["missing"] == node["yes"],
                    left=position[node["yes"]],
                    right=position[node["no"]],
                    cover=float(node["cover"]),
                    value=0.0,
                    node_id=node_id,
                )
            )
        trees.append(nodes)
    return trees


def _dumped_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node of a tree in XGBoost's JSON dump, root first."""
    found = [node]
    for child in node.get("children", []):
        found.extend(_dumped_nodes(child))
    return found


def lightgbm_trees(model: LGBMClassifier) -> list[list[Node]]:
    """Every tree of a fitted LightGBM classifier, root first in each."""
    trees = []
    for info in model.booster_.dump_model()["tree_info"]:
        nodes: list[Node] = []
        _lightgbm_node(info["tree_structure"], nodes)
        trees.append(nodes)
    return trees


def _lightgbm_node(node: dict[str, Any], nodes: list[Node]) -> int:
    """Append ``node`` and its subtree to ``nodes``; return its index."""
    if "leaf_value" in node:
        if node.get("leaf_coeff"):
            raise ValueError("TreePaths reads constant leaves only, not linear_tree")
        nodes.append(
            leaf_node(
                float(node["leaf_value"]),
                float(node.get("leaf_count", 1)),
                int(node.get("leaf_index", 0)),  # a one-leaf tree has no index
            )
        )
        return len(nodes) - 1
    if node["decision_type"] != "<=":
        raise ValueError("TreePaths reads numeric (<=) LightGBM splits only")
    position = len(nodes)
    nodes.append(leaf_node(0.0, 0.0, -1))  # placeholder until the children have indices
    left = _lightgbm_node(node["left_child"], nodes)
    right = _lightgbm_node(node["right_child"], nodes)
    nodes[position] = Node(
        feature=int(node["split_feature"]),
        threshold=float(node["threshold"]),
        kind=_LIGHTGBM_KINDS[node["missing_type"]],
        default_left=bool(node["default_left"]),
        left=left,
        right=right,
        cover=float(node["internal_count"]),
        value=0.0,
        node_id=int(node["split_index"]),
    )
    return position


def leaf_node(value: float, cover: float, node_id: int) -> Node:
    """A leaf: no feature, no children."""
    return Node(-1, 0.0, -1, False, -1, -1, cover, value, node_id)
