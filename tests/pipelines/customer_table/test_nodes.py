from __future__ import annotations

import pandas as pd
import pytest
from tests.pipelines.customer_table.tables import PARAMS, PROFIT, TRAINING, make_raw
from threadpoolctl import threadpool_limits

from churn_pipeline.pipelines.customer_table.nodes import (
    cross_validate,
    fit_customer_model,
    prepare_customer_table,
    select_current_customers,
    tune_customer_model,
)
from churn_pipeline.validation import REJECTED_RULES_COLUMN, DataValidationError


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


@pytest.fixture(scope="module")
def cv_metrics() -> dict[str, float]:
    raw = make_raw()
    customers, _, report = prepare_customer_table(raw, PARAMS)
    with threadpool_limits(limits=1, user_api="blas"):
        return cross_validate(customers, report, PARAMS, TRAINING, PROFIT)


def test_cross_validation_reports_mean_and_sd_per_scorer(cv_metrics):
    metrics = cv_metrics
    assert metrics["cv_folds"] == 3
    prefixes = ["cv_", "xgboost_cv_", "lightgbm_cv_", "logistic_regression_cv_"]
    for prefix in [*prefixes, "baseline_xgboost_cv_"]:
        for metric in ("roc_auc", "empc", "brier"):
            assert f"{prefix}{metric}_mean" in metrics
            assert metrics[f"{prefix}{metric}_sd"] >= 0
    # The signal is real and the folds are unseen: well above chance, not perfect.
    assert 0.65 < metrics["cv_roc_auc_mean"] < 0.95
    assert 0.6 < metrics["baseline_xgboost_cv_roc_auc_mean"] < 0.95
    assert metrics["customers_duplicate_rows"] == 0
    # A fraction of the 3 folds.
    assert metrics["ensemble_single_member_share"] in {0.0, 1 / 3, 2 / 3, 1.0}


def test_nested_tuning_logs_each_fold_and_tunes_the_final_model(raw, caplog):
    params = {**PARAMS, "tuning": {"n_trials": 1, "inner_folds": 2}}
    customers, _, report = prepare_customer_table(raw, params)
    with threadpool_limits(limits=1, user_api="blas"), caplog.at_level("INFO"):
        metrics = cross_validate(customers, report, params, TRAINING, PROFIT)
        tuned = tune_customer_model(customers, params, TRAINING, PROFIT)
        model = fit_customer_model(customers, params, TRAINING, tuned)
    messages = [record.getMessage() for record in caplog.records]
    folds = [message for message in messages if message.startswith("Fold")]
    assert len(folds) == 3
    assert all("tuned {'xgboost': {'max_depth':" in line for line in folds)
    assert "2-fold CV EMPC" in caplog.text  # the inner folds of each outer fold
    assert set(tuned) == {"xgboost"}
    assert tuned["xgboost"]["max_depth"] in {2, 3}
    chosen = tuned["xgboost"]["max_depth"]
    assert model.member_params()["xgboost"]["max_depth"] == chosen
    assert "baseline_xgboost_cv_roc_auc_mean" in metrics
    assert "Cross-validated ensemble vs default XGBoost" in caplog.text


def test_without_trials_nothing_is_tuned(raw):
    customers, _, _ = prepare_customer_table(raw, PARAMS)
    assert tune_customer_model(customers, PARAMS, TRAINING, PROFIT) == {}


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
