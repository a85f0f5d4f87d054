"""Optuna tuning on a time-ordered validation slice, or over CV splits."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sklearn.model_selection import StratifiedKFold
from tests.models import synthetic
from threadpoolctl import threadpool_limits

from churn_pipeline.models.tuning import tune_members, tune_members_cv

BAD_TYPE = {"type": "cat", "low": 1, "high": 2}
SPACE = {
    "xgboost": {
        "max_depth": {"type": "int", "low": 2, "high": 4},
        "learning_rate": {"type": "float", "low": 0.05, "high": 0.3, "log": True},
    }
}


def _tune(table: pd.DataFrame, **overrides: Any) -> dict[str, dict[str, Any]]:
    arguments: dict[str, Any] = {
        "search_space": SPACE,
        "n_trials": 3,
        "n_validation_periods": 2,
        "profit": synthetic.PROFIT_PARAMS,
    }
    arguments.update(overrides)
    with threadpool_limits(limits=1, user_api="blas"):
        return tune_members(table, synthetic.make_model(), **arguments)


@pytest.fixture(scope="module")
def tuned() -> dict[str, dict[str, Any]]:
    return _tune(synthetic.training_table())


def test_best_arguments_lie_in_the_search_space(tuned) -> None:
    assert set(tuned) == {"xgboost"}
    assert set(tuned["xgboost"]) == {"max_depth", "learning_rate"}
    assert 2 <= tuned["xgboost"]["max_depth"] <= 4
    assert isinstance(tuned["xgboost"]["max_depth"], int)
    assert 0.05 <= tuned["xgboost"]["learning_rate"] <= 0.3


def test_the_same_seed_chooses_the_same_arguments(tuned) -> None:
    assert _tune(synthetic.training_table()) == tuned


def test_no_trials_means_no_tuning() -> None:
    assert _tune(synthetic.training_table(), n_trials=0) == {}


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"search_space": {"catboost": {}}}, r"unknown members \['catboost'\]"),
        (
            {
                "search_space": {
                    "xgboost": {"max_depth": {"type": "cat", "low": 1, "high": 2}}
                }
            },
            r"type must be one of \['int', 'float'\]",
        ),
        ({"n_validation_periods": 8}, "more as-of dates than that"),
        ({"n_trials": -1}, "n_trials must be >= 0"),
        ({"timeout_minutes": 0}, "timeout_minutes must be > 0 or None"),
        ({"timeout_minutes": -1.0}, "timeout_minutes must be > 0 or None"),
    ],
)
def test_bad_settings_are_named(overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _tune(synthetic.training_table(), **overrides)


def test_a_spent_time_budget_still_runs_one_trial_per_member(
    caplog: pytest.LogCaptureFixture,
) -> None:
    space = {**SPACE, "lightgbm": {"num_leaves": {"type": "int", "low": 4, "high": 8}}}
    # A budget no fit fits in (60 nanoseconds): the first trial of each member
    # runs anyway, no second one starts.
    with caplog.at_level("INFO", logger="churn_pipeline.models.tuning"):
        tuned = _tune(
            synthetic.training_table(), search_space=space, timeout_minutes=1e-9
        )

    assert set(tuned) == {"xgboost", "lightgbm"}
    finished = [r.getMessage() for r in caplog.records if "Tuned " in r.getMessage()]
    assert len(finished) == 2
    assert all("1 of 3 trials (time budget" in line for line in finished)


def test_a_weighted_sample_is_tuned_with_its_weights(tuned) -> None:
    table = synthetic.training_table()
    # Weight one: the same fits, so the same choice as the unweighted table.
    assert _tune(table.assign(sample_weight=1.0)) == tuned


# ---- tune_members_cv: a table without a time axis, mean EMPC over CV splits


def _tune_cv(**overrides: Any) -> dict[str, dict[str, Any]]:
    table = synthetic.training_table()
    rows = table[table["as_of_date"] == synthetic.FIT_DATES[-1]].reset_index(drop=True)
    y = rows["label"].to_numpy(dtype=int)
    folds = StratifiedKFold(n_splits=2, shuffle=True, random_state=0)
    arguments: dict[str, Any] = {
        "search_space": SPACE,
        "n_trials": 2,
        "splits": list(folds.split(rows, y)),
        "profit": synthetic.PROFIT_PARAMS,
    }
    arguments.update(overrides)
    with threadpool_limits(limits=1, user_api="blas"):
        return tune_members_cv(rows, y, synthetic.make_model(), **arguments)


@pytest.fixture(scope="module")
def tuned_cv() -> dict[str, dict[str, Any]]:
    return _tune_cv()


def test_cv_tuning_chooses_within_the_space_and_repeats(tuned_cv) -> None:
    assert set(tuned_cv) == {"xgboost"}
    assert 2 <= tuned_cv["xgboost"]["max_depth"] <= 4
    assert 0.05 <= tuned_cv["xgboost"]["learning_rate"] <= 0.3
    assert _tune_cv() == tuned_cv


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"splits": []}, "at least one split"),
        ({"search_space": {"catboost": {}}}, r"unknown members \['catboost'\]"),
        ({"n_trials": -1}, "n_trials must be >= 0"),
    ],
)
def test_cv_tuning_names_bad_settings(overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _tune_cv(**overrides)


def test_cv_tuning_with_no_trials_is_off() -> None:
    assert _tune_cv(n_trials=0) == {}
