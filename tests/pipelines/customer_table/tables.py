"""A small customer table with a known signal, and the parameters describing it.

Shared by the customer_table tests
(import as ``tests.pipelines.customer_table.tables``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from tests.models import synthetic

PARAMS: dict[str, Any] = {
    "id_column": "cust",
    "label_column": "left",
    "positive_labels": ["Y"],
    "negative_labels": ["N"],
    "numeric_columns": ["months", "charges"],
    "categorical_columns": ["contract"],
    "drop_columns": ["notes"],
    "blank_as_missing": True,
    "mode": "strict",
    "cv_folds": 3,
    # Off here (it is on by default); the tuning tests switch it on.
    "tuning": {"n_trials": 0, "inner_folds": 2},
    "as_of_date": "2024-06-30",
}
TRAINING: dict[str, Any] = {
    "random_state": 7,
    "horizon_days": 30,
    "n_calibration_snapshots": 2,
    "calibration_fraction": 0.25,
    "members": {
        "xgboost": {"n_estimators": 30, "max_depth": 2, "n_jobs": 1},
        "lightgbm": {"n_estimators": 30, "num_leaves": 4, "n_jobs": 1},
        "logistic_regression": {"C": 1.0, "max_iter": 1000},
    },
    "monotone_constraints": {"logins_30d": -1},
    "tuning": {
        "search_space": {
            "xgboost": {"max_depth": {"type": "int", "low": 2, "high": 3}},
        }
    },
}
PROFIT = synthetic.PROFIT_PARAMS


def make_raw(n: int = 400, seed: int = 3) -> pd.DataFrame:
    """A text export like a CSV read with dtype=str: short contracts churn more."""
    rng = np.random.default_rng(seed)
    months = rng.integers(1, 72, n)
    contract = rng.choice(["monthly", "yearly"], n)
    risk = 1 / (1 + np.exp(-(1.0 - 0.05 * months + 1.5 * (contract == "monthly"))))
    left = np.where(rng.random(n) < risk, "Y", "N")
    charges = (months * rng.uniform(20, 90, n)).round(2).astype(str)
    charges[:3] = " "  # blank: unknown, like Telco's TotalCharges
    return pd.DataFrame(
        {
            "cust": [f"C{i:04d}" for i in range(n)],
            "months": months.astype(str),
            "charges": charges,
            "contract": contract,
            "notes": "x",
            "left": left,
        }
    )
