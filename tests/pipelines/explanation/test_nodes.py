"""SHAP explanation of the scored accounts and global importance."""

from __future__ import annotations

import logging

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from tests.models import synthetic

from churn_pipeline.features import feature_names
from churn_pipeline.features.specs import DRIVERS, DRIVERS_BY_NAME, driver_of
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


def test_explaining_in_batches_gives_the_same_explanation(
    model: ChurnEnsemble, scoring: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    whole = explain_scores(model, scoring)
    with caplog.at_level(logging.INFO, logger="churn_pipeline.batching"):
        batched = explain_scores(model, scoring, batch_rows=70)

    # 300 rows, 70 at a time: five batches, each reported when done.
    assert [r.getMessage() for r in caplog.records] == [
        f"Explained: {done} of 300 rows" for done in (70, 140, 210, 280, 300)
    ]

    assert batched.base_value == whole.base_value
    assert batched.calibration_slope == whole.calibration_slope
    pd.testing.assert_frame_equal(batched.contributions, whole.contributions)


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

    importance, drivers, figure = summarise_importance(explanation)
    plt.close(figure)

    assert isinstance(figure, Figure)
    assert list(importance.columns) == [
        "feature",
        "driver",
        "mean_abs_shap",
        "mean_shap",
    ]
    assert sorted(importance["feature"]) == sorted(feature_names())
    for table in (importance, drivers):
        assert table["mean_abs_shap"].is_monotonic_decreasing
        assert table.index.equals(pd.RangeIndex(len(table)))
        assert (table["mean_abs_shap"] >= table["mean_shap"].abs() - 1e-15).all()
    contributions = explanation.contributions
    top = importance.iloc[0]
    assert top["mean_abs_shap"] == pytest.approx(
        contributions[top["feature"]].abs().mean()
    )
    assert top["mean_shap"] == pytest.approx(contributions[top["feature"]].mean())
    assert top["driver"] == driver_of(top["feature"]).name


def test_driver_importance_sums_the_drivers_features(
    model: ChurnEnsemble, scoring: pd.DataFrame
) -> None:
    explanation = explain_scores(model, scoring)

    importance, drivers, figure = summarise_importance(explanation)
    plt.close(figure)

    assert list(drivers.columns) == [
        "driver",
        "label",
        "theme",
        "features",
        "mean_abs_shap",
        "mean_shap",
    ]
    assert sorted(drivers["driver"]) == sorted(d.name for d in DRIVERS)
    for row in drivers.itertuples():
        members = row.features.split(", ")
        assert set(members) == set(
            importance.loc[importance["driver"] == row.driver, "feature"]
        )
        summed = explanation.contributions[members].sum(axis=1)
        assert row.mean_abs_shap == pytest.approx(summed.abs().mean())
        # Shapley values add: a driver's mean is the sum of its features' means.
        assert row.mean_shap == pytest.approx(
            importance.loc[importance["driver"] == row.driver, "mean_shap"].sum()
        )
        assert (row.label, row.theme) == (
            DRIVERS_BY_NAME[row.driver].label,
            DRIVERS_BY_NAME[row.driver].theme,
        )


def test_summarise_importance_on_a_hand_made_explanation() -> None:
    # Columns outside the registry are drivers of their own, theme profile.
    contributions = pd.DataFrame({"a": [0.1, -0.1], "b": [-1.0, -3.0], "c": [0.5, 0.3]})

    importance, drivers, figure = summarise_importance(
        Explanation(0.0, contributions, 1.0)
    )
    plt.close(figure)

    assert importance["feature"].tolist() == ["b", "c", "a"]
    np.testing.assert_allclose(importance["mean_abs_shap"], [2.0, 0.4, 0.1])
    np.testing.assert_allclose(importance["mean_shap"], [-2.0, 0.4, 0.0], atol=1e-15)
    assert drivers["driver"].tolist() == ["b", "c", "a"]
    assert drivers["theme"].unique().tolist() == ["profile"]


def test_logins_add_up_to_one_driver() -> None:
    contributions = pd.DataFrame(
        {"logins_7d": [0.5, -0.5], "logins_30d": [0.5, -0.5], "mrr": [0.6, -0.6]}
    )

    importance, drivers, figure = summarise_importance(
        Explanation(0.0, contributions, 1.0)
    )
    plt.close(figure)

    # Per feature, MRR leads; its two login features together outweigh it.
    assert importance["feature"].iloc[0] == "mrr"
    assert drivers["driver"].tolist() == ["logins", "plan_and_price"]
    np.testing.assert_allclose(drivers["mean_abs_shap"], [1.0, 0.6])
