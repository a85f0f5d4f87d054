"""An optional table declared absent: the run completes without its features."""

from __future__ import annotations

import json

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from tests.e2e.conftest import pipeline_runs

from churn_pipeline.model_registry.mlflow_store import load_model

pytestmark = pytest.mark.e2e


def test_run_without_nps_trains_registers_and_scores(project_without_nps):
    mlflow.set_tracking_uri(project_without_nps.tracking_uri)
    client = MlflowClient(project_without_nps.tracking_uri)
    (run,) = pipeline_runs(client, "churn")
    assert run.data.tags["absent_tables"] == "nps_responses"
    assert run.data.metrics["validation_nps_responses_rows_in"] == 0
    assert "test_empc" in run.data.metrics

    model, _ = load_model("models:/churn-model@champion")
    assert "last_nps" not in model.feature_names_in_
    assert "logins_30d" in model.feature_names_in_

    data = project_without_nps.path / "data"
    report = json.loads((data / "08_reporting/validation_report.json").read_text())
    assert report["absent_tables"] == ["nps_responses"]
    assert report["tables"]["nps_responses"]["present"] is False
    scores = pd.read_parquet(data / "07_model_output/churn_scores.parquet")
    reasons = [text for texts in scores["top_reasons"] for text in texts]
    assert reasons
    assert not any("NPS" in text for text in reasons)
