"""Which labelled as-of dates each slice gets, and the error a short history gives."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from churn_pipeline.evaluation.history import (
    HistoryError,
    check_history,
    minimum_dates,
    training_slices,
)

MONTH_ENDS = pd.date_range(end="2025-11-30", periods=24, freq="ME")


def _training(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "horizon_days": 30,
        "n_test_snapshots": 3,
        "n_calibration_snapshots": 2,
        "tuning": {
            "n_trials": 4,
            "n_validation_snapshots": 2,
            "search_space": {"xgboost": {"max_depth": {"low": 2, "high": 6}}},
        },
    }
    params.update(overrides)
    return params


EVALUATION = {"backtest_origins": 4}


def _labelled(dates: pd.DatetimeIndex) -> pd.DataFrame:
    return pd.DataFrame({"as_of_date": dates.repeat(3)})


def test_slices_follow_the_horizon_and_the_counts():
    by_name = {s.name: s for s in training_slices(MONTH_ENDS, _training(), EVALUATION)}
    test = by_name["out-of-time test"].dates
    assert [d.date().isoformat() for d in test] == [
        "2025-09-30",
        "2025-10-31",
        "2025-11-30",
    ]
    calibration = by_name["final model: calibration"].dates
    member = by_name["final model: member fit"].dates
    assert len(calibration) == 2
    # Every training label closes by the first test date, every member label
    # by the first calibration date.
    horizon = pd.Timedelta(days=30)
    assert calibration[-1] + horizon <= test[0]
    assert member[-1] + horizon <= calibration[0]
    assert member[-1] < calibration[0]
    origins = by_name["backtest origins"].dates
    assert origins == tuple(MONTH_ENDS[-4:])
    assert by_name["tuning validation"].dates[-1] + horizon <= origins[0]


def test_tuning_slices_only_when_tuning_is_on():
    names = {
        s.name
        for s in training_slices(
            MONTH_ENDS, _training(tuning={"n_trials": 0}), EVALUATION
        )
    }
    assert not any(name.startswith("tuning") for name in names)
    without_backtest = {s.name for s in training_slices(MONTH_ENDS, _training())}
    assert without_backtest == {
        "out-of-time test",
        "final model: member fit",
        "final model: calibration",
    }


# Month ends with a 30-day horizon: a label closes by the next month end. Without
# tuning, 3 test + 4 origins: the oldest origin (Aug) trains on Jul (calibration
# Jun, Jul) and May (members): May .. Nov = 7. One test date and one origin:
# Aug (members), Sep, Oct (calibration), Nov = 4. Tuning before the Aug origin
# validates on Jun, Jul and fits on Mar .. May: 9.
@pytest.mark.parametrize(
    ("overrides", "origins", "expected"),
    [
        ({}, 4, 9),
        ({"tuning": {"n_trials": 0}}, 4, 7),
        ({"n_test_snapshots": 1, "tuning": {"n_trials": 0}}, 1, 4),
    ],
)
def test_minimum_history_is_the_fewest_dates_that_fill_every_slice(
    overrides, origins, expected
):
    training = _training(**overrides)
    evaluation = {"backtest_origins": origins}
    assert minimum_dates(MONTH_ENDS, training, evaluation) == expected
    check_history(_labelled(MONTH_ENDS[-expected:]), training, evaluation)
    with pytest.raises(HistoryError):
        check_history(_labelled(MONTH_ENDS[-expected + 1 :]), training, evaluation)


def test_short_history_names_the_slices_dates_and_parameters():
    with pytest.raises(HistoryError) as raised:
        check_history(_labelled(MONTH_ENDS[-8:]), _training(), EVALUATION)
    message = str(raised.value)
    assert "labelled as-of dates: 8 dates, 2025-04-30 .. 2025-11-30" in message
    assert "tuning: member fit: EMPTY" in message
    assert "model_training.tuning.n_validation_snapshots=2" in message
    # Slices that are fine are listed with their dates, for orientation.
    assert "out-of-time test: 3 dates, 2025-09-30 .. 2025-11-30" in message
    assert "needs at least 9 labelled as-of dates" in message
    assert "model_evaluation.backtest_origins" in message


def test_too_few_dates_for_the_test_slice():
    with pytest.raises(HistoryError, match=r"out-of-time test: EMPTY; it needs more"):
        check_history(
            _labelled(MONTH_ENDS[-3:]), _training(tuning={"n_trials": 0}), EVALUATION
        )


def test_no_labelled_dates_at_all():
    with pytest.raises(HistoryError, match=r"\(none\)"):
        check_history(pd.DataFrame({"as_of_date": []}), _training(), EVALUATION)
