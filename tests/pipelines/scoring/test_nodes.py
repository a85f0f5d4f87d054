"""Batch scoring of the newest snapshot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.models import synthetic

from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.pipelines.scoring.nodes import score_snapshot
from churn_pipeline.scoring import ScoringPolicy, score_accounts

COLUMNS = [
    "account_id",
    "as_of_date",
    "churn_probability",
    "risk_band",
    "top_reasons",
    "expected_contact_profit",
    "contact",
]


@pytest.fixture(scope="module")
def model() -> ChurnEnsemble:
    return synthetic.fitted_model()


@pytest.fixture
def scoring() -> pd.DataFrame:
    """The newest (unlabelled) snapshot."""
    return synthetic.make_snapshots(
        [pd.Timestamp("2024-06-30")], 250, seed=21, labelled=False
    )


@pytest.fixture
def scores(model: ChurnEnsemble, scoring: pd.DataFrame) -> pd.DataFrame:
    return score_snapshot(
        model,
        scoring,
        model.explain(scoring),
        synthetic.SCORING_PARAMS,
        synthetic.PROFIT_PARAMS,
    )


def test_columns_and_length(scores: pd.DataFrame, scoring: pd.DataFrame) -> None:
    assert list(scores.columns) == COLUMNS
    assert len(scores) == len(scoring)
    assert sorted(scores["account_id"]) == sorted(scoring["account_id"])
    assert (scores["as_of_date"] == pd.Timestamp("2024-06-30")).all()
    assert scores.index.equals(pd.RangeIndex(len(scores)))


def test_riskiest_first(scores: pd.DataFrame) -> None:
    probability = scores["churn_probability"].to_numpy()

    assert np.all(np.diff(probability) <= 0)


def test_rows_keep_their_own_scores(
    model: ChurnEnsemble, scoring: pd.DataFrame, scores: pd.DataFrame
) -> None:
    policy = ScoringPolicy.from_params(
        synthetic.SCORING_PARAMS, synthetic.PROFIT_PARAMS
    )
    expected = score_accounts(model, scoring, policy).set_index("account_id")

    actual = scores.drop(columns="as_of_date").set_index("account_id")

    pd.testing.assert_frame_equal(actual, expected.loc[actual.index])
    np.testing.assert_array_equal(
        scores["contact"], scores["churn_probability"] >= policy.contact_threshold
    )


def test_fixed_contact_threshold_is_used(
    model: ChurnEnsemble, scoring: pd.DataFrame
) -> None:
    params = {**synthetic.SCORING_PARAMS, "contact_threshold": 0.5}

    scores = score_snapshot(
        model, scoring, model.explain(scoring), params, synthetic.PROFIT_PARAMS
    )

    np.testing.assert_array_equal(scores["contact"], scores["churn_probability"] >= 0.5)
