from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.models import synthetic
from threadpoolctl import threadpool_limits

from churn_pipeline.pipelines.customer_table.nodes import (
    cross_validate,
    fit_customer_model,
    prepare_customer_table,
    select_current_customers,
)
from churn_pipeline.validation import REJECTED_RULES_COLUMN, DataValidationError

PARAMS = {
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
    "as_of_date": "2024-06-30",
}
TRAINING = {
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
}
PROFIT = synthetic.PROFIT_PARAMS


@pytest.fixture
def raw() -> pd.DataFrame:
    """A text export like a CSV read with dtype=str: short contracts churn more."""
    rng = np.random.default_rng(3)
    n = 400
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


def test_prepare_gives_the_model_layout(raw):
    customers, rejected, report = prepare_customer_table(raw, PARAMS)
    assert list(customers.columns) == [
        "account_id",
        "months",
        "charges",
        "contract",
        "label",
        "as_of_date",
    ]
    assert customers["account_id"].tolist() == raw["cust"].tolist()
    assert customers["label"].tolist() == (raw["left"] == "Y").astype(float).tolist()
    assert customers["charges"].isna().sum() == 3
    assert customers["months"].dtype == float
    assert (customers["as_of_date"] == pd.Timestamp("2024-06-30")).all()
    assert rejected.empty
    assert report["rows_in"] == report["rows_accepted"] == len(raw)
    assert report["absent_tables"] == []


@pytest.mark.parametrize(
    ("column", "value", "rule"),
    [
        ("left", "maybe", "left: isin(['Y', 'N'])"),
        ("months", "many", "months: coerce_dtype('float64')"),
        ("cust", "C0001", "cust: field_uniqueness"),
    ],
)
def test_bad_rows_are_quarantined_with_their_rule(raw, column, value, rule):
    raw.loc[0, column] = value
    customers, rejected, report = prepare_customer_table(
        raw, {**PARAMS, "mode": "quarantine"}
    )
    assert len(customers) + len(rejected) == len(raw)
    assert len(rejected) == 1
    assert rule in rejected[REJECTED_RULES_COLUMN].item()
    assert report["tables"]["customers"]["rejected_by_rule"][rule] == 1


def test_an_unlisted_column_stops_a_strict_run(raw):
    with pytest.raises(DataValidationError, match="column_in_schema"):
        prepare_customer_table(raw.assign(surprise=1), PARAMS)


def test_cross_validation_reports_mean_and_sd_per_scorer(raw):
    customers, _, _ = prepare_customer_table(raw, PARAMS)
    with threadpool_limits(limits=1, user_api="blas"):
        metrics = cross_validate(customers, PARAMS, TRAINING, PROFIT)
    assert metrics["cv_folds"] == 3
    for prefix in ("cv_", "xgboost_cv_", "lightgbm_cv_", "logistic_regression_cv_"):
        for metric in ("roc_auc", "empc", "brier"):
            assert f"{prefix}{metric}_mean" in metrics
            assert metrics[f"{prefix}{metric}_sd"] >= 0
    # The signal is real and the folds are unseen: well above chance, not perfect.
    assert 0.65 < metrics["cv_roc_auc_mean"] < 0.95


def test_final_model_and_scoring_set(raw):
    customers, _, _ = prepare_customer_table(raw, PARAMS)
    with threadpool_limits(limits=1, user_api="blas"):
        model = fit_customer_model(customers, PARAMS, TRAINING)
    assert list(model.feature_names_in_) == ["months", "charges", "contract"]
    assert model.monotone_constraints == {}
    assert model.periods_ == {"member_fit": "random", "calibration": "random"}
    current = select_current_customers(customers)
    assert (current["label"] == 0).all()
    assert len(current) == int((customers["label"] == 0).sum())
    probability = model.predict_proba(current)[:, 1]
    assert ((probability > 0) & (probability < 1)).all()
