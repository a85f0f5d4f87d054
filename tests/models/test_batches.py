"""Scoring a batch of rows at a time gives the same numbers as all at once."""

from __future__ import annotations

import numpy as np
from tests.models import synthetic

from churn_pipeline.models.baseline import BASELINE, fit_baseline
from churn_pipeline.models.batches import ENSEMBLE, scores_by_model


def test_scores_in_batches_equal_scores_at_once():
    model = synthetic.fitted_model()
    train = synthetic.training_table()
    baseline = fit_baseline(
        model.numeric_features_,
        model.categorical_features_,
        train,
        train["label"],
        random_state=model.random_state,
    )
    rows = synthetic.holdout_table().iloc[:250]

    whole = scores_by_model(model, rows, baseline.predict_proba, batch_rows=1000)
    batched = scores_by_model(model, rows, baseline.predict_proba, batch_rows=40)

    assert set(whole) == {ENSEMBLE, BASELINE, *model.members_}
    for name, score in whole.items():
        np.testing.assert_array_equal(batched[name], score)
        assert len(score) == len(rows)
    np.testing.assert_array_equal(whole[ENSEMBLE], model.predict_proba(rows)[:, 1])


def test_no_rows_give_an_empty_score_per_model():
    model = synthetic.fitted_model()
    rows = synthetic.holdout_table().iloc[:0]

    scores = scores_by_model(model, rows)

    assert set(scores) == {ENSEMBLE, *model.members_}
    assert all(len(score) == 0 for score in scores.values())
