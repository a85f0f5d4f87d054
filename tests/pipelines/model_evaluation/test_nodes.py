"""Out-of-time evaluation of the ensemble and its members."""

from __future__ import annotations

import math
from collections.abc import Iterator

import matplotlib.pyplot as plt
import mlflow
import pandas as pd
import pytest
from matplotlib.figure import Figure
from mlflow.tracking import MlflowClient
from sklearn.metrics import roc_auc_score
from tests.models import synthetic
from threadpoolctl import threadpool_limits

from churn_pipeline.datasets.parquet_table import ParquetTable
from churn_pipeline.evaluation.backtest import BACKTEST_METRICS
from churn_pipeline.models.baseline import BASELINE, default_xgboost
from churn_pipeline.pipelines.model_evaluation.nodes import (
    backtest_ensemble,
    collect_metrics,
    evaluate_model,
    log_backtest_runs,
    log_single_member_share,
)

METRICS = [
    "roc_auc",
    "pr_auc",
    "brier",
    "top_decile_lift",
    "empc",
    "mpc",
]
PREFIXES = [
    "test_",
    "xgboost_test_",
    "lightgbm_test_",
    "logistic_regression_test_",
    "baseline_xgboost_test_",
]


@pytest.fixture(scope="module")
def evaluation() -> Iterator[tuple[dict[str, float], list[Figure]]]:
    metrics, *figures = evaluate_model(
        synthetic.fitted_model(),
        synthetic.training_table(),
        synthetic.holdout_table(),
        synthetic.PROFIT_PARAMS,
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


def test_baseline_is_fitted_on_the_ensembles_training_rows(
    evaluation: tuple[dict[str, float], list[Figure]],
) -> None:
    metrics, _ = evaluation
    model, train = synthetic.fitted_model(), synthetic.training_table()
    holdout = synthetic.holdout_table()
    baseline = default_xgboost(
        model.numeric_features_,
        model.categorical_features_,
        random_state=model.random_state,
    ).fit(train, train["label"])

    expected = roc_auc_score(holdout["label"], baseline.predict_proba(holdout)[:, 1])

    assert metrics[f"{BASELINE}_test_roc_auc"] == pytest.approx(expected, rel=1e-9)
    # Same rows, other scores: the baseline is not the ensemble or a member.
    assert metrics[f"{BASELINE}_test_roc_auc"] != metrics["test_roc_auc"]
    assert metrics[f"{BASELINE}_test_roc_auc"] != metrics["xgboost_test_roc_auc"]


def test_returns_five_figures(
    evaluation: tuple[dict[str, float], list[Figure]],
) -> None:
    _, figures = evaluation

    assert len(figures) == 5
    assert all(isinstance(figure, Figure) for figure in figures)


TRAINING = {
    "random_state": 0,
    "horizon_days": synthetic.HORIZON_DAYS,
    "n_calibration_snapshots": 2,
    "members": {
        "xgboost": dict(synthetic.XGBOOST_PARAMS),
        "logistic_regression": None,
    },
    "monotone_constraints": dict(synthetic.MONOTONE_CONSTRAINTS),
}


@pytest.fixture(scope="module")
def backtest() -> Iterator[tuple[pd.DataFrame, dict[str, float], str, Figure]]:
    table = _backtest_table()
    with threadpool_limits(limits=1, user_api="blas"):
        outputs = backtest_ensemble(
            table,
            TRAINING,
            {"backtest_origins": 2},
            synthetic.PROFIT_PARAMS,
            {"absent_tables": []},
            {"xgboost": {"max_depth": 2}},
        )
    yield outputs
    plt.close(outputs[3])


def test_backtest_node_reports_the_ensemble_with_spread(backtest) -> None:
    results, metrics, comparison, _ = backtest

    assert set(results["model"]) == {
        "ensemble",
        "xgboost",
        "logistic_regression",
        BASELINE,
    }
    # Unlabelled rows are never an origin.
    assert results["origin"].max() == pd.Timestamp("2024-03-31")
    ensemble = results[results["model"] == "ensemble"]
    assert metrics["backtest_empc_mean"] == pytest.approx(ensemble["empc"].mean())
    assert metrics["backtest_empc_sd"] == pytest.approx(ensemble["empc"].std())
    assert {f"backtest_{m}_mean" for m in BACKTEST_METRICS} <= set(metrics)
    baseline = results[results["model"] == BASELINE]
    for metric in BACKTEST_METRICS:
        assert metrics[f"{BASELINE}_backtest_{metric}_mean"] == pytest.approx(
            baseline[metric].mean()
        )
        assert metrics[f"{BASELINE}_backtest_{metric}_sd"] == pytest.approx(
            baseline[metric].std()
        )
    per_origin = results.groupby("origin")["single_member"].first()
    assert metrics["ensemble_single_member_share"] == pytest.approx(
        (per_origin != "").mean()
    )
    assert comparison.splitlines()[2].startswith("| ensemble |")
    assert comparison.splitlines()[3].startswith(f"| {BASELINE} |")


@pytest.mark.parametrize(
    ("per_origin", "share", "warning"),
    [
        (["", ""], 0.0, None),
        (["xgboost", ""], 0.5, "At 50% of the backtest origins"),
        (["xgboost", "lightgbm"], 1.0, "one member (lightgbm, xgboost)"),
    ],
)
def test_single_member_blends_are_counted_and_warned_about(
    caplog: pytest.LogCaptureFixture,
    per_origin: list[str],
    share: float,
    warning: str | None,
) -> None:
    results = pd.DataFrame(
        [
            {"origin": origin, "model": model, "single_member": only}
            for origin, only in zip(("2024-01", "2024-02"), per_origin, strict=True)
            for model in ("ensemble", "xgboost", BASELINE)
        ]
    )

    with caplog.at_level("WARNING"):
        assert log_single_member_share(results) == pytest.approx(share)

    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    if warning is None:
        assert warnings == []
    else:
        assert len(warnings) == 1
        assert warning in warnings[0]


def test_collect_metrics_refuses_clashing_names() -> None:
    assert collect_metrics({"test_empc": 1.0}, {"backtest_empc_mean": 2.0}) == {
        "test_empc": 1.0,
        "backtest_empc_mean": 2.0,
    }
    with pytest.raises(ValueError, match=r"share names: \['x'\]"):
        collect_metrics({"x": 1.0}, {"x": 2.0})


def test_nested_runs_hold_each_models_backtest(
    backtest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    results = backtest[0]
    with synthetic.mlflow_store(tmp_path_factory.mktemp("mlflow")) as experiment:
        with mlflow.start_run(experiment_id=experiment) as parent:
            log_backtest_runs(results)
        client = MlflowClient()
        children = client.search_runs(
            [experiment],
            filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
        )
        by_model = {run.data.tags["model"]: run for run in children}
        assert set(by_model) == set(results["model"])
        for model, run in by_model.items():
            rows = results[results["model"] == model].sort_values("origin")
            assert run.info.run_name == f"backtest-{model}"
            assert run.data.metrics["backtest_roc_auc_mean"] == pytest.approx(
                rows["roc_auc"].mean()
            )
            history = client.get_metric_history(run.info.run_id, "origin_empc")
            assert [m.value for m in sorted(history, key=lambda m: m.step)] == (
                pytest.approx(rows["empc"].tolist())
            )


def _backtest_table() -> pd.DataFrame:
    dates = pd.date_range("2023-08-31", periods=8, freq="ME")
    return pd.concat(
        [
            synthetic.make_snapshots(dates, 300, seed=5).assign(is_labelled=True),
            synthetic.make_snapshots(
                dates[-1:] + pd.offsets.MonthEnd(1), 50, seed=6
            ).assign(is_labelled=False, label=0),
        ],
        ignore_index=True,
    )


def test_a_parquet_input_gives_the_frames_backtest(backtest, tmp_path) -> None:
    path = tmp_path / "model_input_table.parquet"
    _backtest_table().to_parquet(path)

    with threadpool_limits(limits=1, user_api="blas"):
        results, *_, figure = backtest_ensemble(
            ParquetTable(str(path)),
            TRAINING,
            {"backtest_origins": 2},
            synthetic.PROFIT_PARAMS,
            {"absent_tables": []},
            {"xgboost": {"max_depth": 2}},
        )
    plt.close(figure)

    pd.testing.assert_frame_equal(results, backtest[0])


def test_backtest_refits_on_a_sample_and_judges_every_origin_row(backtest) -> None:
    cap = 600  # of about 1500 rows known by the older origin
    training = {**TRAINING, "sampling": {"max_training_rows": cap}}

    with threadpool_limits(limits=1, user_api="blas"):
        results, metrics, _, figure = backtest_ensemble(
            _backtest_table(),
            training,
            {"backtest_origins": 2},
            synthetic.PROFIT_PARAMS,
            {"absent_tables": []},
            {"xgboost": {"max_depth": 2}},
        )
    plt.close(figure)

    full = backtest[0]
    pd.testing.assert_series_equal(results["train_rows"], full["train_rows"])
    pd.testing.assert_series_equal(results["test_rows"], full["test_rows"])
    assert (results["fit_rows"] < 0.6 * results["train_rows"]).all()
    assert (full["fit_rows"] == full["train_rows"]).all()
    # Same origin rows, other fits: the metrics move, within reason.
    assert metrics["backtest_roc_auc_mean"] != backtest[1]["backtest_roc_auc_mean"]
    assert metrics["backtest_roc_auc_mean"] > 0.6
