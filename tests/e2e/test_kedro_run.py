"""End to end: validate, train, evaluate, track, register, explain, score."""

from __future__ import annotations

import json
import re

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from tests.e2e.conftest import pipeline_runs
from tests.scored_list import list_columns

from churn_pipeline.model_registry.mlflow_store import load_model
from churn_pipeline.model_registry.tracking import (
    EXPERIMENT_KIND_TAG,
    MODEL_TRAINING_KIND,
)
from churn_pipeline.models.baseline import BASELINE
from churn_pipeline.pipelines.reporting.nodes import REPORT_FIGURES

pytestmark = pytest.mark.e2e

TEST_METRICS = (
    "test_roc_auc",
    "test_pr_auc",
    "test_brier",
    "test_top_decile_lift",
    "test_empc",
    "test_mpc",
)


@pytest.fixture(scope="module")
def client(trained_project) -> MlflowClient:
    mlflow.set_tracking_uri(trained_project.tracking_uri)
    return MlflowClient(trained_project.tracking_uri)


@pytest.fixture(scope="module")
def runs(client) -> pd.DataFrame:
    return pipeline_runs(client, "churn")


@pytest.fixture(scope="module")
def nested(client, runs) -> list:
    experiment = client.get_experiment_by_name("churn")
    return client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{runs[-1].info.run_id}'",
    )


def test_each_run_tracks_ensemble_and_member_metrics(runs):
    assert len(runs) == 2
    for run in runs:
        metrics = run.data.metrics
        for name in TEST_METRICS:
            assert name in metrics
            for member in ("xgboost", "lightgbm", "logistic_regression", BASELINE):
                assert f"{member}_{name}" in metrics
        assert 0.5 < metrics["test_roc_auc"] <= 1.0
        for table in ("accounts", "usage", "tickets"):
            assert metrics[f"validation_{table}_rows_in"] == (
                metrics[f"validation_{table}_rows_accepted"]
                + metrics[f"validation_{table}_rows_rejected"]
            )
            assert metrics[f"validation_{table}_rows_rejected"] == 0
        assert run.data.params["model_training.members.xgboost.max_depth"] == "4"


def test_each_run_logs_plots_scores_and_decision(client, runs):
    artifacts = {a.path for a in client.list_artifacts(runs[0].info.run_id)}
    for expected in (
        "roc_curve.png",
        "profit_curve.png",
        "calibration.png",
        "shap_importance.png",
        "churn_scores.parquet",
        "champion_decision.json",
        "evaluation_metrics.json",
        "validation_report.json",
        "gains_lift.png",
        "score_distributions.png",
        "backtest.png",
        "backtest_results.csv",
        "backtest_comparison.md",
        "tuned_params.json",
        "model_card.md",
        "churn_scores.csv",
        "churn_report.html",
        *(f"{name.removesuffix('_plot')}.png" for name in REPORT_FIGURES),
    ):
        assert expected in artifacts


def test_backtest_is_on_the_parent_and_in_one_nested_run_per_model(runs, nested):
    parent = runs[-1].data.metrics
    for metric in ("roc_auc", "pr_auc", "top_decile_lift", "empc", "mpc", "brier"):
        assert f"backtest_{metric}_mean" in parent
        assert parent[f"backtest_{metric}_sd"] >= 0
        assert parent[f"{BASELINE}_backtest_{metric}_sd"] >= 0
    assert 0 <= parent["ensemble_single_member_share"] <= 1
    by_model = {run.data.tags["model"]: run for run in nested}
    assert set(by_model) == {
        "ensemble",
        "xgboost",
        "lightgbm",
        "logistic_regression",
        BASELINE,
    }
    assert by_model[BASELINE].data.metrics["backtest_empc_mean"] == pytest.approx(
        parent[f"{BASELINE}_backtest_empc_mean"], abs=1e-12
    )
    assert by_model["ensemble"].data.metrics["backtest_empc_mean"] == pytest.approx(
        parent["backtest_empc_mean"], abs=1e-12
    )


def test_runs_are_named_for_people_and_the_experiment_opens_on_them(client, runs):
    for run in runs:
        # kedro-mlflow alone names every plain `kedro run` "__default__".
        assert re.fullmatch(
            r"event_history local \d{4}-\d{2}-\d{2} \d{2}:\d{2}", run.info.run_name
        ), run.info.run_name
    experiment = client.get_experiment_by_name("churn")
    assert experiment.tags[EXPERIMENT_KIND_TAG] == MODEL_TRAINING_KIND


def test_report_starts_with_the_recorded_churn_and_counts_its_months(
    trained_project,
):
    reports = trained_project.path / "data/08_reporting"
    monthly = pd.read_parquet(reports / "monthly_churn.parquet")
    html = (reports / "churn_report.html").read_text()
    # The demo's customers signed up years before its first day, 2024-01-01.
    assert monthly["month"].iloc[0] == pd.Timestamp("2024-01-01")
    assert f"; {len(monthly)} complete months, Jan 2024 to " in html


def test_tuned_parameters_are_logged(runs):
    params = runs[-1].data.params
    assert any(name.startswith("tuned.xgboost.") for name in params)
    assert any(name.startswith("tuned.lightgbm.") for name in params)


def test_every_registered_version_carries_its_model_card(client):
    for version in client.search_model_versions("name = 'churn-model'"):
        card = version.description
        assert card.startswith(f"# Model card: churn-model v{version.version}")
        for section in ("Data window", "Members, weights", "Metrics", "Known limits"):
            assert f"## {section}" in card
        assert "backtest_empc" in card


def test_champion_alias_moves_only_when_not_worse(client, runs):
    first, second = runs
    assert first.data.tags["champion_promoted"] == "true"
    assert first.data.tags["model_version"] == "1"
    # Same seed and data: the second run's backtest EMPC ties the champion's,
    # and a tie is "not worse", so the alias moves to version 2.
    assert second.data.metrics["backtest_empc_mean"] == pytest.approx(
        first.data.metrics["backtest_empc_mean"], abs=1e-12
    )
    assert second.data.tags["champion_promoted"] == "true"
    assert "champion v1" in second.data.tags["champion_decision_reason"]
    # The baseline gate ran on both, with the numbers in the reason.
    for run in runs:
        reason = run.data.tags["champion_decision_reason"]
        baseline = run.data.metrics[f"{BASELINE}_backtest_empc_mean"]
        assert reason.startswith("ensemble backtest_empc_mean ")
        assert f"{BASELINE}'s {baseline:.4f}" in reason
        assert run.data.tags["ensemble_single_member"] in {
            "none",
            "xgboost",
            "lightgbm",
            "logistic_regression",
        }
    champion = client.get_model_version_by_alias("churn-model", "champion")
    assert str(champion.version) == "2"
    assert champion.run_id == second.info.run_id


def test_scores_file_is_the_actionable_list(trained_project):
    scores = pd.read_parquet(
        trained_project.path / "data/07_model_output/churn_scores.parquet"
    )
    # Who, how risky, what to do, why.
    assert list(scores.columns) == list_columns(
        [
            "failed_payment",
            "missed_onboarding",
            "no_login_10d",
            "nps_detractor",
            "ticket_open_over_5d",
            "tickets_3_in_7d",
        ]
    )
    assert scores["recommended_action"].map(bool).all()
    assert set(scores["currency"]) == {"USD"}
    assert scores["health_score"].dtype == np.int64
    assert scores["health_score"].between(0, 100).all()
    # Untargeted green and yellow accounts are monitored, not campaigned.
    idle = ~scores["contact"] & scores["risk_band"].isin(["green", "yellow"])
    assert idle.any()
    assert scores.loc[idle, "recommended_action"].str.startswith("monitor").all()
    # The onboarding trigger stays in its window.
    onboarding = scores["trigger_missed_onboarding"]
    assert not (onboarding & (scores["tenure_months"] > 3)).any()
    # Every trigger fires for someone in a business of 600 accounts.
    assert scores.filter(like="trigger_").any().all()
    assert scores["account_id"].is_unique
    assert scores["as_of_date"].nunique() == 1
    assert scores["churn_probability"].between(0, 1).all()
    assert scores["churn_probability"].is_monotonic_decreasing
    assert set(scores["risk_band"]) <= {"green", "yellow", "red"}
    assert scores["top_reasons"].map(len).between(0, 3).all()
    assert scores["top_reasons"].map(len).max() == 3


def test_scored_accounts_are_those_active_at_the_newest_date(trained_project):
    data = trained_project.path / "data"
    scores = pd.read_parquet(data / "07_model_output/churn_scores.parquet")
    table = pd.read_parquet(data / "05_model_input/model_input_table.parquet")
    newest = table[table["as_of_date"] == table["as_of_date"].max()]
    assert not newest["is_labelled"].any()
    assert set(scores["account_id"]) == set(newest["account_id"])


def test_champion_reproduces_batch_scores(trained_project):
    mlflow.set_tracking_uri(trained_project.tracking_uri)
    model, _ = load_model("models:/churn-model@champion")
    data = trained_project.path / "data"
    scoring = pd.read_parquet(data / "05_model_input/scoring_snapshots.parquet")
    scores = pd.read_parquet(data / "07_model_output/churn_scores.parquet")
    expected = scores.set_index("account_id")["churn_probability"]
    got = pd.Series(model.predict_proba(scoring)[:, 1], index=scoring["account_id"])
    pd.testing.assert_series_equal(
        got.sort_index(), expected.sort_index(), check_names=False, rtol=0, atol=1e-12
    )


def test_champion_decision_file_explains_itself(trained_project):
    decision = json.loads(
        (trained_project.path / "data/08_reporting/champion_decision.json").read_text()
    )
    assert decision["metric"] == "backtest_empc_mean"
    assert decision["promoted"] is True
    assert decision["champion_version"] == "1"
