"""SHAP explanation of the scored accounts and global importance."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from tests.models import synthetic

from churn_pipeline.features import feature_names
from churn_pipeline.models import ChurnEnsemble, Explanation
from churn_pipeline.pipelines.explanation.nodes import (
    explain_scores,
    summarise_importance,
)


@pytest.fixture(scope="module")
def model() -> ChurnEnsemble:
    return synthetic.fitted_model()


@pytest.fixture
def scoring() -> pd.DataFrame:
    return synthetic.holdout_table().iloc[:300]


def test_explain_scores_aligns_with_the_scored_rows(
    model: ChurnEnsemble, scoring: pd.DataFrame
) -> None:
    explanation = explain_scores(model, scoring)

    assert isinstance(explanation, Explanation)
    assert explanation.contributions.index.equals(scoring.index)
    assert list(explanation.contributions.columns) == feature_names()
    np.testing.assert_allclose(
        explanation.base_value + explanation.contributions.sum(axis=1),
        model.decision_function(scoring),
        atol=1e-4,
    )


def test_summarise_importance_sorted_descending(
    model: ChurnEnsemble, scoring: pd.DataFrame
) -> None:
    explanation = explain_scores(model, scoring)

    importance, figure = summarise_importance(explanation)
    plt.close(figure)

    assert isinstance(figure, Figure)
    assert list(importance.columns) == ["feature", "mean_abs_shap", "mean_shap"]
    assert sorted(importance["feature"]) == sorted(feature_names())
    assert importance["mean_abs_shap"].is_monotonic_decreasing
    assert importance.index.equals(pd.RangeIndex(len(importance)))
    assert (importance["mean_abs_shap"] >= importance["mean_shap"].abs() - 1e-15).all()
    contributions = explanation.contributions
    top = importance.iloc[0]
    assert top["mean_abs_shap"] == pytest.approx(
        contributions[top["feature"]].abs().mean()
    )
    assert top["mean_shap"] == pytest.approx(contributions[top["feature"]].mean())


def test_summarise_importance_on_a_hand_made_explanation() -> None:
    contributions = pd.DataFrame({"a": [0.1, -0.1], "b": [-1.0, -3.0], "c": [0.5, 0.3]})

    importance, figure = summarise_importance(Explanation(0.0, contributions, 1.0))
    plt.close(figure)

    assert importance["feature"].tolist() == ["b", "c", "a"]
    np.testing.assert_allclose(importance["mean_abs_shap"], [2.0, 0.4, 0.1])
    np.testing.assert_allclose(importance["mean_shap"], [-2.0, 0.4, 0.0], atol=1e-15)
