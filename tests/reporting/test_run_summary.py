"""The closing summary of a run: only what the run wrote, paths from the catalog."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog
from kedro.pipeline import Node, Pipeline

from churn_pipeline.hooks import RunSummaryHooks
from churn_pipeline.reporting.run_summary import (
    collect_outputs,
    log_run_summary,
    summary_lines,
    summary_settings,
)

MLFLOW_JSON = "kedro_mlflow.io.artifacts.MlflowArtifactDataset"

EVENT_HISTORY_METRICS = {
    "test_rows": 5579.0,
    "test_roc_auc": 0.7886,
    "test_empc": 0.1570,
    "test_top_decile_lift": 4.666,
    "test_brier": 0.02459,
    "backtest_empc_mean": 0.21129,
    "backtest_empc_sd": 0.06690,
    "backtest_roc_auc_mean": 0.78880,
    "backtest_roc_auc_sd": 0.03660,
    "backtest_top_decile_lift_mean": 4.4856,
    "backtest_top_decile_lift_sd": 0.5482,
    "xgboost_test_roc_auc": 0.78,
    "baseline_xgboost_backtest_empc_mean": 0.19,
    "baseline_xgboost_backtest_empc_sd": 0.05,
    "baseline_xgboost_backtest_roc_auc_mean": 0.7712,
    "baseline_xgboost_backtest_roc_auc_sd": 0.04,
    "baseline_xgboost_test_roc_auc": 0.7701,
    "baseline_xgboost_test_empc": 0.1402,
    "ensemble_single_member_share": 0.0,
}
CUSTOMER_TABLE_METRICS = {
    "cv_folds": 5.0,
    "cv_roc_auc_mean": 0.8470,
    "cv_roc_auc_sd": 0.0130,
    "cv_empc_mean": 10.38,
    "cv_empc_sd": 0.26,
    "cv_top_decile_lift_mean": 2.9,
    "cv_top_decile_lift_sd": 0.1,
}
VALIDATION = {
    "tables": {
        "accounts": {"rows_in": 100, "rows_accepted": 98, "rows_rejected": 2},
        "usage": {"rows_in": 1000, "rows_accepted": 997, "rows_rejected": 3},
    }
}


def _decision(name: str = "churn-model", promoted: bool = True) -> dict:
    return {
        "model_name": name,
        "version": "3",
        "promoted": promoted,
        "metric": "backtest_empc_mean",
        "new_value": 0.2113,
        "champion_version": "2",
        "champion_value": 0.25,
        "reason": "backtest_empc_mean 0.2113 < champion v2's 0.2500",
    }


def _catalog(root: Path) -> DataCatalog:
    """The project's entries, in its shapes: MLflow wrappers and a factory."""

    def wrapped(kind: str, path: str) -> dict:
        return {
            "type": MLFLOW_JSON,
            "dataset": {"type": kind, "filepath": str(root / path)},
        }

    return DataCatalog.from_config(
        {
            "evaluation_metrics": wrapped(
                "json.JSONDataset", "evaluation_metrics.json"
            ),
            "champion_decision": wrapped("json.JSONDataset", "champion_decision.json"),
            "{stage}_report": wrapped("json.JSONDataset", "{stage}_report.json"),
            "churn_report": wrapped("text.TextDataset", "churn_report.html"),
            "churn_scores_csv": wrapped("pandas.CSVDataset", "churn_scores.csv"),
            "daily_scores_csv": {
                "type": "pandas.CSVDataset",
                "filepath": str(root / "daily_scores.csv"),
            },
        }
    )


def _write(root: Path, **outputs: object) -> None:
    for name, data in outputs.items():
        (root / f"{name}.json").write_text(json.dumps(data))


def test_full_run_names_metrics_decision_and_where_to_look(tmp_path, caplog):
    _write(
        tmp_path,
        evaluation_metrics=EVENT_HISTORY_METRICS,
        champion_decision=_decision(promoted=False),
        validation_report=VALIDATION,
    )
    produced = {
        "evaluation_metrics",
        "champion_decision",
        "validation_report",
        "churn_report",
        "churn_scores_csv",
        "daily_scores_csv",
        "model_input_table",
    }
    with caplog.at_level(logging.INFO, logger="churn_pipeline"):
        lines = log_run_summary(
            _catalog(tmp_path), produced, experiment="churn", ui_url="http://h:5000"
        )

    assert lines == [
        f"Validation: 2 tables, 1,100 rows in, 5 rejected "
        f"({tmp_path / 'validation_report.json'})",
        "Backtest (mean ± sd over origins): EMPC 0.211 ± 0.067, "
        "ROC AUC 0.789 ± 0.037, top-decile lift 4.486 ± 0.548",
        "Baseline (default XGBoost), backtest: EMPC 0.190 ± 0.050, "
        "ROC AUC 0.771 ± 0.040",
        "Out-of-time test: EMPC 0.157, ROC AUC 0.789, top-decile lift 4.666, "
        "Brier 0.025 (5,579 rows)",
        "Baseline (default XGBoost), out-of-time test: EMPC 0.140, ROC AUC 0.770",
        "Champion: churn-model v3 not promoted; v2 stays @champion "
        "(backtest_empc_mean 0.2113 < champion v2's 0.2500)",
        # The day's list, which the endpoint answers, over the training run's.
        f"Scored list: {tmp_path / 'daily_scores.csv'}",
        f"Report: {tmp_path / 'churn_report.html'}",
        "MLflow UI: make ui, then http://h:5000 (experiment 'churn')",
        "Endpoint: make serve, then POST http://127.0.0.1:3000/predict "
        "(docs/serving.md)",
    ]
    assert len(lines) <= 15
    [record] = [r for r in caplog.records if r.name.endswith("run_summary")]
    assert record.getMessage() == "Run summary:\n  " + "\n  ".join(lines)


def test_customer_table_run_has_cross_validation_and_its_own_model(tmp_path):
    _write(
        tmp_path,
        evaluation_metrics=CUSTOMER_TABLE_METRICS,
        champion_decision=_decision("churn-model-telco"),
    )
    produced = {"evaluation_metrics", "champion_decision", "churn_scores_csv"}

    lines = log_run_summary(_catalog(tmp_path), produced, experiment="churn-telco")

    assert lines[0] == (
        "Cross-validation (5 folds): EMPC 10.380 ± 0.260, ROC AUC 0.847 ± 0.013, "
        "top-decile lift 2.900 ± 0.100"
    )
    assert lines[1].startswith("Champion: churn-model-telco v3 promoted to @champion")
    assert lines[2] == f"Scored list: {tmp_path / 'churn_scores.csv'}"
    assert not any(
        line.startswith(("Backtest", "Out-of-time", "Report")) for line in lines
    )
    assert lines[-1].startswith(
        "Endpoint: make serve MODEL_URI=models:/churn-model-telco@champion, then"
    )


@pytest.mark.parametrize(
    ("metrics", "expected"),
    [
        (
            {**EVENT_HISTORY_METRICS, "ensemble_single_member_share": 0.75},
            "Ensemble: one member alone in 75% of the backtest origins",
        ),
        (
            {**CUSTOMER_TABLE_METRICS, "ensemble_single_member_share": 0.2},
            "Ensemble: one member alone in 20% of the cross-validation folds",
        ),
    ],
)
def test_a_blend_of_one_member_is_said(tmp_path, metrics, expected):
    _write(tmp_path, evaluation_metrics=metrics)

    lines = summary_lines(collect_outputs(_catalog(tmp_path), {"evaluation_metrics"}))

    [line] = [line for line in lines if line.startswith("Ensemble:")]
    assert line.startswith(expected)


def test_customer_table_baseline_follows_the_cross_validation(tmp_path):
    metrics = {
        **CUSTOMER_TABLE_METRICS,
        "baseline_xgboost_cv_roc_auc_mean": 0.8391,
        "baseline_xgboost_cv_roc_auc_sd": 0.011,
        "xgboost_cv_roc_auc_mean": 0.84,
    }
    _write(tmp_path, evaluation_metrics=metrics)

    lines = summary_lines(collect_outputs(_catalog(tmp_path), {"evaluation_metrics"}))

    assert lines[:2] == [
        "Cross-validation (5 folds): EMPC 10.380 ± 0.260, ROC AUC 0.847 ± 0.013, "
        "top-decile lift 2.900 ± 0.100",
        "Baseline (default XGBoost), cross-validation: ROC AUC 0.839 ± 0.011",
    ]


def test_a_first_version_refused_says_no_version_is_served(tmp_path):
    decision = {
        **_decision(),
        "version": "1",
        "promoted": False,
        "champion_version": None,
        "champion_value": None,
        "reason": "ensemble backtest_empc_mean 0.2113 is below ...: not promoted",
    }
    _write(tmp_path, champion_decision=decision)

    lines = summary_lines(collect_outputs(_catalog(tmp_path), {"champion_decision"}))

    assert lines[0] == (
        "Champion: churn-model v1 not promoted; no version holds @champion "
        "(ensemble backtest_empc_mean 0.2113 is below ...: not promoted)"
    )


def test_partial_run_reports_only_what_it_wrote(tmp_path):
    # An earlier full run left metrics and a decision on disk.
    _write(
        tmp_path,
        evaluation_metrics=EVENT_HISTORY_METRICS,
        champion_decision=_decision(),
        validation_report=VALIDATION,
    )
    catalog = _catalog(tmp_path)

    lines = log_run_summary(
        catalog, {"validation_report", "accounts"}, experiment="churn"
    )

    assert len(lines) == 2
    assert lines[0].startswith("Validation: 2 tables, 1,100 rows in, 5 rejected")
    assert lines[1].startswith("MLflow UI: make ui")


def test_run_with_nothing_to_report_logs_nothing(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="churn_pipeline"):
        lines = log_run_summary(
            _catalog(tmp_path), {"raw_accounts", "raw_usage"}, experiment="churn"
        )

    assert lines == []
    assert not [r for r in caplog.records if r.name.endswith("run_summary")]


def test_output_missing_on_disk_is_skipped(tmp_path):
    # The pipeline declares the decision, but nothing was written (e.g. a
    # dataset that skips saving); the summary must not fail on it.
    outputs = collect_outputs(_catalog(tmp_path), {"champion_decision"})

    assert outputs.decision is None
    assert summary_lines(outputs) == []


def test_validation_report_of_another_shape_still_gives_its_path(tmp_path):
    _write(tmp_path, validation_report={"customers": "ok"})

    lines = summary_lines(collect_outputs(_catalog(tmp_path), {"validation_report"}))

    assert lines == [f"Validation report ({tmp_path / 'validation_report.json'})"]


def test_paths_below_the_working_directory_are_shown_relative(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    catalog = DataCatalog.from_config(
        {
            "daily_scores_csv": {
                "type": "pandas.CSVDataset",
                "filepath": str(tmp_path / "data/08_reporting/daily_scores.csv"),
            },
            "churn_report": {
                "type": "text.TextDataset",
                "filepath": "/elsewhere/r.html",
            },
        }
    )

    lines = summary_lines(
        collect_outputs(catalog, {"daily_scores_csv", "churn_report"})
    )

    assert lines == [
        "Scored list: data/08_reporting/daily_scores.csv",
        "Report: /elsewhere/r.html",
    ]


def test_scored_list_path_follows_the_catalog(tmp_path):
    pd.DataFrame({"account_id": ["A1"]}).to_csv(tmp_path / "daily_scores.csv")
    elsewhere = tmp_path / "elsewhere"
    catalog = DataCatalog.from_config(
        {
            "{name}_csv": {
                "type": "pandas.CSVDataset",
                "filepath": f"{elsewhere}/{{name}}.csv",
            }
        }
    )

    lines = summary_lines(collect_outputs(catalog, {"daily_scores_csv"}))

    assert lines == [f"Scored list: {elsewhere / 'daily_scores.csv'}"]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {
                "mlflow.yml": "tracking:\n  experiment:\n    name: churn-telco\n"
                "ui:\n  host: 127.0.0.1\n  port: '5001'\n",
                "parameters.yml": "model_registry:\n  champion_alias: best\n",
            },
            {
                "experiment": "churn-telco",
                "ui_url": "http://127.0.0.1:5001",
                "alias": "best",
            },
        ),
        ({"parameters.yml": "input_kind: event_history\n"}, {}),
    ],
)
def test_settings_come_from_conf(tmp_path, files, expected):
    (tmp_path / "base").mkdir()
    (tmp_path / "local").mkdir()
    for name, text in files.items():
        (tmp_path / "base" / name).write_text(text)
    loader = OmegaConfigLoader(
        str(tmp_path),
        base_env="base",
        default_run_env="local",
        config_patterns={"mlflow": ["mlflow*"]},
    )

    assert summary_settings(loader) == expected


def _identity(x):
    return x


def test_hook_summarises_the_outputs_of_the_pipeline_that_ran(tmp_path, caplog):
    _write(
        tmp_path,
        evaluation_metrics=CUSTOMER_TABLE_METRICS,
        validation_report=VALIDATION,
    )
    pipeline = Pipeline(
        [Node(_identity, "test_snapshots", "evaluation_metrics", name="cv")]
    )

    with caplog.at_level(logging.INFO, logger="churn_pipeline"):
        RunSummaryHooks().after_pipeline_run(pipeline, _catalog(tmp_path))

    [record] = [r for r in caplog.records if r.name.endswith("run_summary")]
    assert record.getMessage().startswith("Run summary:\n  Cross-validation (5 folds)")
    assert "Validation" not in record.getMessage()


def test_hook_turns_a_summary_failure_into_a_warning(tmp_path, caplog):
    (tmp_path / "evaluation_metrics.json").write_text("{not json")
    pipeline = Pipeline(
        [Node(_identity, "test_snapshots", "evaluation_metrics", name="cv")]
    )

    with caplog.at_level(logging.INFO, logger="churn_pipeline"):
        RunSummaryHooks().after_pipeline_run(pipeline, _catalog(tmp_path))

    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert record.getMessage().startswith("No run summary:")
    assert "evaluation_metrics" in record.getMessage()
