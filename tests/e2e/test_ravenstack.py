"""A foreign multi-table SaaS export (RavenStack), ingested by configuration only."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from tests.e2e.conftest import pipeline_runs

from churn_pipeline.model_registry.mlflow_store import load_model

pytestmark = pytest.mark.e2e

SOURCE_ROWS = {
    "subscriptions": 5000,
    "churn_events": 600,
    "usage_events": 25000,
}


@pytest.fixture(scope="module")
def run(ravenstack_project):
    client = MlflowClient(ravenstack_project.tracking_uri)
    (found,) = pipeline_runs(client, "churn-ravenstack")
    return found


def _json(project, name: str) -> dict:
    path = project.path / "data/ravenstack/08_reporting" / name
    return json.loads(path.read_text())


def test_every_source_row_is_accepted_or_rejected_with_a_rule(run):
    metrics = run.data.metrics
    for table, rows in SOURCE_ROWS.items():
        assert metrics[f"source_{table}_rows_in"] == rows
        assert (
            metrics[f"source_{table}_rows_accepted"]
            + metrics[f"source_{table}_rows_rejected"]
            == rows
        )
    # The known dirt: 21 usage ids used twice; the first event of each is kept.
    assert metrics["source_usage_events_rows_rejected"] == 21
    assert metrics["source_usage_events_rejected_usage_id_field_uniqueness"] == 21


def test_every_accepted_source_row_is_used_exactly_once(ravenstack_project):
    report = _json(ravenstack_project, "ingestion_report.json")
    derived = report["derived"]
    tables = report["tables"]
    periods = sum(v for k, v in derived.items() if k.startswith("periods_"))
    churns = sum(v for k, v in derived.items() if k.startswith("churn_events_"))
    assert periods == tables["subscriptions"]["rows_accepted"]
    assert churns == tables["churn_events"]["rows_accepted"]
    # 61 churn events are flagged as reactivations: not churn.
    assert derived["churn_events_reactivations"] == 61


def test_contract_tables_balance_and_name_their_rejections(ravenstack_project):
    report = _json(ravenstack_project, "validation_report.json")
    assert report["absent_tables"] == ["invoices", "nps_responses"]
    for counts in report["tables"].values():
        assert counts["rows_in"] == counts["rows_accepted"] + counts["rows_rejected"]
    assert report["tables"]["accounts"]["rows_accepted"] == 500
    assert report["tables"]["tickets"]["rows_in"] == 2000
    rules = report["tables"]["subscription_events"]["rejected_by_rule"]
    assert set(rules) <= {
        "event_type: cancellations and reactivations alternate",
        "event_date: no plan change while cancelled",
    }
    rejected = pd.read_parquet(
        ravenstack_project.path
        / "data/ravenstack/02_intermediate/rejected/usage_events.parquet"
    )
    assert len(rejected) == 21
    assert set(rejected["rejected_rules"]) == {"usage_id: field_uniqueness"}


def test_labels_come_from_cancellations_not_reactivations(ravenstack_project):
    root = ravenstack_project.path / "data/ravenstack"
    spine = pd.read_parquet(root / "03_primary/spine.parquet")
    events = pd.read_parquet(root / "02_intermediate/subscription_events.parquet")
    cancellations = events[events["event_type"] == "cancellation"]
    labelled = spine[spine["is_labelled"]]
    assert 0.02 < labelled["label"].mean() < 0.3
    churned = labelled[labelled["label"] == 1]
    # Each positive has a cancellation of that account inside its horizon.
    joined = churned.merge(cancellations, on="account_id")
    inside = (joined["event_date"] > joined["as_of_date"]) & (
        joined["event_date"] <= joined["as_of_date"] + pd.Timedelta(days=30)
    )
    hits = joined[inside].drop_duplicates(["account_id", "as_of_date"])
    assert len(hits) == len(churned)


def test_a_model_is_trained_evaluated_and_registered(ravenstack_project, run):
    metrics = run.data.metrics
    # RavenStack's churn signal is weak by construction (its SOURCE.md): the
    # bar is a working model on held-out later months, not a high score.
    assert 0.5 < metrics["test_roc_auc"] < 1.0
    assert run.data.tags["absent_tables"] == "invoices,nps_responses"
    model, _ = load_model("models:/churn-model-ravenstack@champion")
    features = set(model.feature_names_in_)
    assert "last_nps" not in features  # no NPS table
    assert "active_users_per_seat_30d" not in features  # no active-user counts
    assert "logins_30d" in features


def test_configured_usage_columns_feed_the_model_features_of_their_own(run):
    model, _ = load_model("models:/churn-model-ravenstack@champion")
    numeric = set(model.numeric_features_)
    configured = ("feature_uses", "features_used", "feature_seconds", "feature_errors")
    for column in configured:
        own = {
            *(f"{column}_{days}d" for days in (7, 14, 30, 90)),
            f"{column}_trend_30d",
            f"days_since_{column}",
            f"{column}_per_seat_30d",
        }
        assert own <= numeric, column
    # feature_uses is also the key feature: it still feeds the summed counts.
    assert "key_feature_uses_30d" in numeric
