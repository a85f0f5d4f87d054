"""Out-of-time evaluation of the ensemble and its members."""

from __future__ import annotations

import math
from collections.abc import Iterator

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure
from tests.models import synthetic

from churn_pipeline.pipelines.model_evaluation.nodes import evaluate_model

METRICS = [
    "roc_auc",
    "pr_auc",
    "brier",
    "top_decile_lift",
    "empc",
    "mpc",
]
PREFIXES = ["test_", "xgboost_test_", "logistic_regression_test_"]


@pytest.fixture(scope="module")
def evaluation() -> Iterator[tuple[dict[str, float], list[Figure]]]:
    metrics, *figures = evaluate_model(
        synthetic.fitted_model(), synthetic.holdout_table(), synthetic.PROFIT_PARAMS
    )
    yield metrics, figures
    for figure in figures:
        plt.close(figure)


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("metric", METRICS)
def test_metric_keys_for_ensemble_and_members(
    evaluation: tuple[dict[str, float], list[Figure]], prefix: str, metric: str
) -> None:
    metrics, _ = evaluation

    value = metrics[prefix + metric]

    assert isinstance(value, float)
    assert math.isfinite(value)


def test_metric_values_are_plausible(
    evaluation: tuple[dict[str, float], list[Figure]],
) -> None:
    metrics, _ = evaluation
    holdout = synthetic.holdout_table()

    assert metrics["test_rows"] == len(holdout)
    assert metrics["test_churn_rate"] == pytest.approx(holdout["label"].mean())
    for prefix in PREFIXES:
        assert 0.5 < metrics[prefix + "roc_auc"] <= 1.0
        assert 0.0 <= metrics[prefix + "brier"] <= 1.0
        assert metrics[prefix + "top_decile_lift"] > 1.0
        assert metrics[prefix + "empc"] >= 0.0


def test_returns_three_figures(
    evaluation: tuple[dict[str, float], list[Figure]],
) -> None:
    _, figures = evaluation

    assert len(figures) == 3
    assert all(isinstance(figure, Figure) for figure in figures)
