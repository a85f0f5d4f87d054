"""The model card: the ensemble beside the default-XGBoost baseline and members."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from tests.models import synthetic

from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.reporting.model_card import model_card

DECISION = {
    "model_name": "churn-model",
    "version": "4",
    "promoted": False,
    "metric": "backtest_empc_mean",
    "new_value": 28.1,
    "champion_version": "3",
    "champion_value": 27.0,
    "reason": "ensemble backtest_empc_mean 28.1000 is below baseline_xgboost's "
    "33.0000 by more than 1 x sd 2.1000: not promoted; backtest_empc_mean "
    "28.1000 >= champion v3's 27.0000",
}
EVENT_METRICS = {
    "backtest_empc_mean": 28.1,
    "backtest_empc_sd": 2.1,
    "backtest_roc_auc_mean": 0.81,
    "backtest_roc_auc_sd": 0.02,
    "baseline_xgboost_backtest_empc_mean": 33.0,
    "baseline_xgboost_backtest_empc_sd": 1.5,
    "baseline_xgboost_backtest_roc_auc_mean": 0.83,
    "baseline_xgboost_backtest_roc_auc_sd": 0.01,
    "ensemble_single_member_share": 0.75,
    "test_rows": 100.0,
    "test_churn_rate": 0.1,
    "test_empc": 30.0,
    "test_roc_auc": 0.8,
    "baseline_xgboost_test_empc": 31.0,
    "baseline_xgboost_test_roc_auc": 0.82,
    "xgboost_test_empc": 29.0,
    "xgboost_test_roc_auc": 0.79,
}


def _card(metrics: dict[str, float], model: ChurnEnsemble | None = None) -> str:
    return model_card(model or synthetic.fitted_model(), metrics, DECISION)


def test_backtest_table_puts_the_baseline_beside_the_ensemble() -> None:
    card = _card(EVENT_METRICS)

    assert "| model | roc_auc | empc |" in card
    assert "| ensemble | 0.8100 ± 0.0200 | 28.1000 ± 2.1000 |" in card
    assert "| baseline_xgboost | 0.8300 ± 0.0100 | 33.0000 ± 1.5000 |" in card
    assert "Each member's backtest: `backtest_comparison.md`" in card
    assert "- Baseline (default XGBoost): `baseline_xgboost_backtest_empc_mean` = " in (
        card
    )
    assert f"({DECISION['reason']})" in card


def test_test_table_shows_ensemble_baseline_and_each_member_logged() -> None:
    card = _card(EVENT_METRICS)
    after = card.split("\nOut-of-time test:\n")[1]
    test_table = after.strip().split("\n\n")[0].splitlines()

    assert test_table[0] == "| model | roc_auc | empc |"
    assert test_table[2:] == [
        "| ensemble | 0.8000 | 30.0000 |",
        "| baseline_xgboost | 0.8200 | 31.0000 |",
        "| xgboost | 0.7900 | 29.0000 |",
    ]


def test_cross_validation_table_for_the_customer_table_path() -> None:
    metrics = {
        "cv_roc_auc_mean": 0.84,
        "cv_roc_auc_sd": 0.01,
        "baseline_xgboost_cv_roc_auc_mean": 0.83,
        "baseline_xgboost_cv_roc_auc_sd": 0.02,
        "lightgbm_cv_roc_auc_mean": 0.82,
        "lightgbm_cv_roc_auc_sd": 0.03,
    }

    card = _card(metrics)

    assert "Cross-validation (mean ± sd over folds):" in card
    assert "| baseline_xgboost | 0.8300 ± 0.0200 |" in card
    assert "| lightgbm | 0.8200 ± 0.0300 |" in card
    assert "Rolling-origin backtest" not in card
    assert "`baseline_xgboost_backtest_empc_mean` not logged, so not checked" in card


def _with_weights(weights: dict[str, float]) -> ChurnEnsemble:
    model = copy.copy(synthetic.fitted_model())
    model.weights_ = weights
    return model


@pytest.mark.parametrize(
    ("weights", "metrics", "expected", "absent"),
    [
        (
            {"xgboost": 0.0, "lightgbm": 1.0, "logistic_regression": 0.0},
            EVENT_METRICS,
            [
                "all its weight to **lightgbm**: this model is lightgbm alone",
                "one member alone in 75% of the backtest origins",
            ],
            [],
        ),
        (
            {"xgboost": 0.3, "lightgbm": 0.3, "logistic_regression": 0.4},
            {"cv_empc_mean": 1.0, "ensemble_single_member_share": 0.2},
            ["one member alone in 20% of the CV folds"],
            ["all its weight"],
        ),
        (
            {"xgboost": 0.3, "lightgbm": 0.3, "logistic_regression": 0.4},
            {**EVENT_METRICS, "ensemble_single_member_share": 0.0},
            [],
            ["all its weight", "one member alone"],
        ),
    ],
)
def test_a_blend_of_one_member_is_said(
    weights: dict[str, float],
    metrics: dict[str, Any],
    expected: list[str],
    absent: list[str],
) -> None:
    card = _card(metrics, _with_weights(weights))

    for text in expected:
        assert text in card
    for text in absent:
        assert text not in card
