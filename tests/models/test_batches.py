"""Scoring a batch of rows at a time gives the same numbers as all at once."""

from __future__ import annotations

import numpy as np
import pytest
from tests.models import synthetic

from churn_pipeline.models.baseline import BASELINE, fit_baseline
from churn_pipeline.models.batches import ENSEMBLE, row_batches, scores_by_model


@pytest.mark.parametrize(
    ("n_rows", "batch_rows", "expected"),
    [
        (0, 3, []),
        (3, 3, [(0, 3)]),
        (7, 3, [(0, 3), (3, 6), (6, 7)]),
    ],
)
def test_row_batches_cover_every_row_once(n_rows, batch_rows, expected):
    got = [(s.start, s.stop) for s in row_batches(n_rows, batch_rows)]
    assert got == expected


def test_a_batch_of_no_rows_is_refused():
    with pytest.raises(ValueError, match="batch_rows must be >= 1, got 0"):
        list(row_batches(5, 0))


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
