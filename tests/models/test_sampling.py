"""Fitting on a weighted sample of non-churners: probabilities stay calibrated,
the weights compose with class weights, float32 fits are reproducible."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from tests.models import synthetic
from threadpoolctl import threadpool_limits
from xgboost import XGBClassifier

from churn_pipeline.evaluation.snapshots import Share, Snapshots, weights_of
from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.models.blend import fit_blend
from churn_pipeline.models.members import combined_weight

N_ACCOUNTS = 1500
SHARE = 0.2


@pytest.fixture(scope="module")
def full() -> pd.DataFrame:
    return synthetic.make_snapshots(synthetic.FIT_DATES, N_ACCOUNTS, seed=31)


@pytest.fixture(scope="module")
def holdout() -> pd.DataFrame:
    return synthetic.make_snapshots(synthetic.HOLDOUT_DATES, 3000, seed=32)


@pytest.fixture(scope="module")
def sample(full: pd.DataFrame) -> pd.DataFrame:
    share = Share(non_churners=SHARE, seed=synthetic.make_model().random_state)
    return Snapshots(full).read(share=share, float32=True)


def _fit(rows: pd.DataFrame, weight: np.ndarray | None) -> ChurnEnsemble:
    with threadpool_limits(limits=1, user_api="blas"):
        return synthetic.make_model().fit(
            rows, rows["label"], periods=rows["as_of_date"], sample_weight=weight
        )


def _tolerance(full: pd.DataFrame, holdout: pd.DataFrame) -> float:
    """Four standard errors of the gap between two churn-rate estimates.

    One from the holdout's labels, one from the calibration rows the Platt
    intercept is fitted on (the newest periods of the full slice).
    """
    rate = holdout["label"].mean()
    calibration = full["as_of_date"] >= synthetic.CALIBRATION_START
    n_calibration = int(calibration.sum())
    return 4 * np.sqrt(rate * (1 - rate) * (1 / len(holdout) + 1 / n_calibration))


def test_weighted_sample_keeps_the_mean_probability_at_the_churn_rate(
    full: pd.DataFrame, sample: pd.DataFrame, holdout: pd.DataFrame
) -> None:
    assert len(sample) < 0.4 * len(full)  # it did subsample
    model = _fit(sample, weights_of(sample))

    mean_probability = model.predict_proba(holdout)[:, 1].mean()

    rate = holdout["label"].mean()
    assert abs(mean_probability - rate) < _tolerance(full, holdout)


def test_without_the_weights_the_sample_overstates_churn(
    full: pd.DataFrame, sample: pd.DataFrame, holdout: pd.DataFrame
) -> None:
    # The check above can fail: unweighted, the sample's churn rate is the
    # model's, several times the true one.
    model = _fit(sample, None)

    mean_probability = model.predict_proba(holdout)[:, 1].mean()

    assert mean_probability - holdout["label"].mean() > 3 * _tolerance(full, holdout)


def test_integer_weights_fit_the_blend_like_repeated_rows() -> None:
    rng = np.random.default_rng(5)
    logits = {"a": rng.normal(size=400), "b": rng.normal(size=400)}
    y = (rng.random(400) < expit(logits["a"] - 1.0)).astype(int)
    weight = rng.integers(1, 4, 400)

    weighted = fit_blend(logits, y, weight.astype(float))
    repeated = fit_blend(
        {name: np.repeat(values, weight) for name, values in logits.items()},
        np.repeat(y, weight),
    )

    np.testing.assert_allclose(weighted[1:], repeated[1:], rtol=1e-4)
    for name in logits:
        assert weighted[0][name] == pytest.approx(repeated[0][name], abs=1e-4)


@pytest.mark.parametrize(
    ("class_weight", "sample_weight", "expected"),
    [
        (None, None, None),
        (None, [1.0, 3.0, 3.0], [1.0, 3.0, 3.0]),
        ("balanced", None, [1.5, 0.75, 0.75]),
        # Classes counted with their sampling weights: churners 1, others 6.
        ("balanced", [1.0, 3.0, 3.0], [3.5, 1.75, 1.75]),
    ],
)
def test_class_weight_composes_with_sampling_weight(
    class_weight: str | None,
    sample_weight: list[float] | None,
    expected: list[float] | None,
) -> None:
    y = np.array([1, 0, 0])
    weight = combined_weight(
        y, class_weight, None if sample_weight is None else np.array(sample_weight)
    )

    if expected is None:
        assert weight is None
    else:
        np.testing.assert_allclose(weight, expected)
        if class_weight == "balanced":  # each class carries half the weight
            assert weight[y == 1].sum() == pytest.approx(weight[y == 0].sum())


@pytest.mark.parametrize(
    ("weight", "match"),
    [
        (np.array([1.0, -1.0]), "offending values \\[-1.0\\]"),
        (np.array([1.0, np.nan]), "offending values \\[nan\\]"),
        (np.array([1.0]), "got shape \\(1,\\)"),
    ],
)
def test_bad_sample_weights_are_refused(weight: np.ndarray, match: str) -> None:
    rows = synthetic.training_table().head(2)

    with pytest.raises(ValueError, match=match):
        synthetic.make_model().fit(rows, rows["label"], sample_weight=weight)


def test_a_float32_fit_is_reproducible_for_a_seed(sample: pd.DataFrame) -> None:
    holdout = synthetic.holdout_table()

    first = _fit(sample, weights_of(sample)).predict_proba(holdout)
    second = _fit(sample, weights_of(sample)).predict_proba(holdout)

    np.testing.assert_array_equal(first, second)


def test_xgboost_grows_the_same_trees_from_float32_as_from_float64() -> None:
    # XGBoost bins in float32: handing it float32 halves the matrix, nothing else.
    rng = np.random.default_rng(9)
    design = rng.normal(size=(2000, 6)) * 1000
    y = (rng.random(2000) < expit(design[:, 0] / 1000)).astype(int)

    def fitted(matrix: np.ndarray) -> XGBClassifier:
        model = XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1, random_state=0)
        return model.fit(matrix, y)

    wide = fitted(design).predict_proba(design)
    narrow = fitted(design.astype(np.float32)).predict_proba(design)

    np.testing.assert_array_equal(wide, narrow)
