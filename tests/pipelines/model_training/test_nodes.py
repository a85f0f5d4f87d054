"""Time split of the snapshots and training of the ensemble."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.models import synthetic
from threadpoolctl import threadpool_limits

from churn_pipeline.datasets.parquet_table import ParquetTable
from churn_pipeline.evaluation.history import HistoryError
from churn_pipeline.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES
from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.pipelines.model_training.nodes import (
    split_snapshots,
    train_ensemble,
    tune_hyperparameters,
)

LABELLED_DATES = pd.date_range("2023-08-31", periods=9, freq="ME")  # .. 2024-04-30
UNLABELLED_DATES = pd.DatetimeIndex(["2024-05-31", "2024-06-30"])


def _params(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "random_state": 0,
        "horizon_days": synthetic.HORIZON_DAYS,
        "n_test_snapshots": 2,
        "n_calibration_snapshots": 2,
        "members": {
            "xgboost": dict(synthetic.XGBOOST_PARAMS),
            "lightgbm": dict(synthetic.LIGHTGBM_PARAMS),
            "logistic_regression": {"C": 0.5, "max_iter": 2000},
        },
        "monotone_constraints": dict(synthetic.MONOTONE_CONSTRAINTS),
    }
    params.update(overrides)
    return params


@pytest.fixture(scope="module")
def model_input_table() -> pd.DataFrame:
    """Nine labelled month ends, then two whose label window is still open."""
    labelled = synthetic.make_snapshots(LABELLED_DATES, 60, seed=11)
    unlabelled = synthetic.make_snapshots(UNLABELLED_DATES, 60, seed=12, labelled=False)
    # The newest date also has accounts the older dates do not.
    newest = unlabelled["as_of_date"] == UNLABELLED_DATES[-1]
    extra = unlabelled[newest].head(5).assign(account_id=[f"N{i}" for i in range(5)])
    return pd.concat([labelled, unlabelled, extra], ignore_index=True)


def _dates(frame: pd.DataFrame) -> list[pd.Timestamp]:
    return sorted(pd.Timestamp(d) for d in frame["as_of_date"].unique())


@pytest.mark.parametrize("n_test", [1, 2, 3])
def test_test_set_is_the_newest_labelled_dates(
    model_input_table: pd.DataFrame, n_test: int
) -> None:
    _, test, _ = split_snapshots(model_input_table, _params(n_test_snapshots=n_test))

    assert _dates(test) == list(LABELLED_DATES[-n_test:])
    assert test["is_labelled"].all()
    assert test["label"].notna().all()
    expected_rows = model_input_table["as_of_date"].isin(LABELLED_DATES[-n_test:])
    assert len(test) == expected_rows.sum()


@pytest.mark.parametrize(
    ("n_test", "train_dates"),
    [
        # Test starts 2024-04-30; 2024-03-31 + 30 days = 2024-04-30: allowed.
        (1, LABELLED_DATES[:-1]),
        # Test starts 2024-03-31; 2024-02-29 + 30 days = 2024-03-30: allowed.
        (2, LABELLED_DATES[:-2]),
        # Test starts 2024-02-29; 2024-01-31 + 30 days = 2024-03-01: dropped.
        (3, LABELLED_DATES[:-4]),
    ],
)
def test_train_keeps_only_labels_closed_by_the_test_start(
    model_input_table: pd.DataFrame, n_test: int, train_dates: pd.DatetimeIndex
) -> None:
    train, test, _ = split_snapshots(
        model_input_table, _params(n_test_snapshots=n_test)
    )

    assert _dates(train) == list(train_dates)
    test_start = test["as_of_date"].min()
    horizon = pd.Timedelta(days=synthetic.HORIZON_DAYS)
    assert (train["as_of_date"] + horizon <= test_start).all()
    assert train["label"].notna().all()


def test_scoring_is_the_newest_unlabelled_date(
    model_input_table: pd.DataFrame,
) -> None:
    _, _, scoring = split_snapshots(model_input_table, _params())

    assert _dates(scoring) == [UNLABELLED_DATES[-1]]
    assert not scoring["is_labelled"].any()
    assert len(scoring) == 65
    assert {"N0", "N4"} <= set(scoring["account_id"])


def test_split_outputs_are_disjoint_with_fresh_indexes(
    model_input_table: pd.DataFrame,
) -> None:
    train, test, scoring = split_snapshots(model_input_table, _params())

    keys = [
        set(zip(frame["account_id"], frame["as_of_date"], strict=True))
        for frame in (train, test, scoring)
    ]
    assert not keys[0] & keys[1]
    assert not keys[0] & keys[2]
    assert not keys[1] & keys[2]
    for frame in (train, test, scoring):
        assert frame.index.equals(pd.RangeIndex(len(frame)))
    assert list(train.columns) == [*model_input_table.columns, "sample_weight"]
    assert list(test.columns) == list(model_input_table.columns)


def test_a_parquet_input_splits_like_the_frame(
    model_input_table: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "model_input_table.parquet"
    model_input_table.to_parquet(path)

    from_file = split_snapshots(ParquetTable(str(path)), _params())

    for got, expected in zip(
        from_file, split_snapshots(model_input_table, _params()), strict=True
    ):
        pd.testing.assert_frame_equal(got, expected)


def test_above_the_cap_training_keeps_churners_and_weighs_back(
    model_input_table: pd.DataFrame,
) -> None:
    full, full_test, _ = split_snapshots(model_input_table, _params())
    cap = len(full) // 3
    params = _params(sampling={"max_training_rows": cap})

    train, test, _ = split_snapshots(model_input_table, params)

    assert len(train) < len(full) // 2
    assert train["label"].sum() == full["label"].sum()
    assert train["sample_weight"].sum() == pytest.approx(len(full))
    assert train["logins_30d"].dtype == "float32"
    pd.testing.assert_frame_equal(test, full_test)  # judged on every row
    again, _, _ = split_snapshots(model_input_table, params)
    pd.testing.assert_frame_equal(again, train)


def test_tuning_reads_the_file_and_keeps_to_its_budget(
    model_input_table: pd.DataFrame, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "model_input_table.parquet"
    model_input_table.to_parquet(path)
    params = _params(
        members={"xgboost": {"n_estimators": 10, "max_depth": 2, "n_jobs": 1}},
        n_test_snapshots=1,
        tuning={
            "n_trials": 2,
            "n_validation_snapshots": 1,
            "max_rows": 100,
            "timeout_minutes": None,
            "search_space": {
                "xgboost": {"max_depth": {"type": "int", "low": 2, "high": 3}}
            },
        },
    )

    with (
        threadpool_limits(limits=1, user_api="blas"),
        caplog.at_level("INFO", logger="churn_pipeline"),
    ):
        tuned = tune_hyperparameters(
            ParquetTable(str(path)),
            params,
            {"backtest_origins": 2},
            synthetic.PROFIT_PARAMS,
            {"absent_tables": []},
        )

    assert set(tuned) == {"xgboost"}
    assert 2 <= tuned["xgboost"]["max_depth"] <= 3
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "Tuned xgboost: 2 of 2 trials (all ran)" in messages
    assert "Tuning fit slice sampled" in messages


@pytest.mark.parametrize("n_test", [9, 10, 20])
def test_too_few_labelled_dates(model_input_table: pd.DataFrame, n_test: int) -> None:
    with pytest.raises(
        HistoryError, match=r"more than model_training.n_test_snapshots=.*got 9"
    ):
        split_snapshots(model_input_table, _params(n_test_snapshots=n_test))


def test_short_history_is_refused_before_any_fit(
    model_input_table: pd.DataFrame,
) -> None:
    # Nine labelled month ends are enough for the split, not for a backtest
    # over eight origins: the oldest origin would have no member-fit dates.
    with pytest.raises(HistoryError, match=r"backtest origin 2023-09-30: member fit"):
        split_snapshots(model_input_table, _params(), {"backtest_origins": 8})


def test_train_ensemble_fits_on_the_training_slice() -> None:
    train = synthetic.training_table()
    params = _params(
        members={
            "xgboost": {"n_estimators": 20, "max_depth": 2, "n_jobs": 1},
            "logistic_regression": {"C": 0.5, "max_iter": 2000},
        },
        class_weight="balanced",
    )

    with threadpool_limits(limits=1, user_api="blas"):  # see synthetic.fit
        model = train_ensemble(train, params, {"absent_tables": []}, {})

    assert isinstance(model, ChurnEnsemble)
    assert list(model.feature_names_in_) == [
        *NUMERIC_FEATURES,
        *CATEGORICAL_FEATURES,
    ]
    assert model.random_state == params["random_state"]
    assert model.horizon_days == params["horizon_days"]
    assert model.monotone_constraints == params["monotone_constraints"]
    assert set(model.members_) == {"xgboost", "logistic_regression"}
    assert model.class_weight == "balanced"
    tree = model.members_["xgboost"].named_steps["model"]
    assert tree.get_params()["n_estimators"] == 20
    assert model.members_["logistic_regression"].named_steps["model"].params["C"] == 0.5
    assert model.periods_["calibration"] == [
        str(d.date()) for d in synthetic.FIT_DATES[-params["n_calibration_snapshots"] :]
    ]
    probability = model.predict_proba(synthetic.holdout_table())[:, 1]
    assert ((probability > 0) & (probability < 1)).all()


def test_features_of_absent_tables_are_left_out() -> None:
    train = synthetic.training_table()
    params = _params(
        members={"xgboost": {"n_estimators": 10, "max_depth": 2, "n_jobs": 1}}
    )

    with threadpool_limits(limits=1, user_api="blas"):
        model = train_ensemble(
            train, params, {"absent_tables": ["nps_responses", "tickets"]}, {}
        )

    features = set(model.feature_names_in_)
    assert "last_nps" not in features
    assert not {"tickets_30d", "tickets_open", "tickets_open_over_5d"} & features
    assert {"logins_30d", "failed_payments_90d", "plan"} <= features
    assert "tickets_open_over_5d" not in model.monotone_constraints
    explanation = model.explain(synthetic.holdout_table().head(5))
    assert list(explanation.contributions.columns) == list(model.feature_names_in_)
