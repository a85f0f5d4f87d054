"""Churn from gaps between subscription periods, by configuration alone.

Two runs of `kedro run --pipelines subscription_periods`: RavenStack's real files
with its churn events ignored (the documented ``--params`` one-liner), and a
small seeded event-level business (no ids, no signup dates, no accounts table,
one row per event) in an environment written here as a user would write it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from tests.e2e import gap_events
from tests.e2e.conftest import (
    SHARED_DATASETS,
    TrainedProject,
    copy_project,
    inside,
    pipeline_runs,
    run_kedro,
    run_on_shared_dataset,
)

from churn_pipeline.model_registry.mlflow_store import load_model

pytestmark = pytest.mark.e2e

# The one-liner of conf/ravenstack/parameters_ingestion.yml, as --params.
RAVENSTACK_GAP = {
    "ingestion": {
        "churn": {"source": "gap", "term_days": {"monthly": 30, "annual": 365}}
    },
    "feature_engineering": {"label_delay_days": 30},
}
HORIZON = pd.Timedelta(days=30)

ENV = "gap_events"
CONF = {
    "globals.yml": """
data_root: data/gap_events
mlflow_experiment: churn-gap-events
""",
    "parameters.yml": "input_kind: subscription_periods\n",
    "catalog.yml": """
_absent: &absent
  type: churn_pipeline.datasets.AbsentTableDataset
source_subscriptions:
  type: pandas.CSVDataset
  filepath: data/gap_events/01_raw/periods.csv
source_usage_events:
  type: pandas.CSVDataset
  filepath: data/gap_events/01_raw/events.csv
# Accounts come from their first period; churn from the gaps between periods.
source_accounts: *absent
source_churn_events: *absent
raw_tickets: *absent
raw_invoices: *absent
raw_nps_responses: *absent
champion:
  type: churn_pipeline.datasets.ChampionModelDataset
  model_name: churn-model-gap-events
  alias: champion
""",
    "parameters_ingestion.yml": """
ingestion:
  mappings:
    subscriptions:
      columns: {customer: account_id, begins: start_date, ends: end_date}
    usage_events:
      columns: {customer: account_id, ts: usage_date, action: event_type}
  # One usage column per event type, named as the contract's built-in columns.
  usage_aggregations:
    logins: {op: count, where: {event_type: [login]}}
    uses_reports: {op: count, where: {event_type: [report]}}
    uses_dashboards: {op: count, where: {event_type: [dashboard]}}
    uses_integrations: {op: count, where: {event_type: [integration, webhook]}}
  churn: {source: gap, gap_days: 30}
""",
    "parameters_data_validation.yml": """
data_validation:
  mode: quarantine
  max_date: "2024-06-30"
  mappings:
    accounts:
      # Accounts derived from periods have no such attributes.
      constants: {industry: unknown, country: unknown,
                  acquisition_channel: unknown, discount_pct: 0.0}
  usage_columns: [logins, uses_reports, uses_dashboards, uses_integrations]
  allowed_values:
    plan: [basic, pro]
    billing_cycle: [monthly, annual]
    industry: [unknown]
    country: [unknown]
    acquisition_channel: [unknown]
    event_type: [upgrade, downgrade, seat_change, cancellation, reactivation]
    churn_type: [voluntary, involuntary]
    churn_reason: [other]
    priority: [low, medium, high, urgent]
    invoice_status: [paid, failed]
""",
    "parameters_feature_engineering.yml": """
feature_engineering:
  horizon_days: ${globals:horizon_days}
  observation_end: null
  # A churn is known only once its gap is over: the labels stop gap_days
  # before the data does.
  label_delay_days: 30
  min_history_days: 60
  max_snapshots: 24
  key_feature_columns: [uses_reports, uses_dashboards, uses_integrations]
  engine: ${globals:feature_engine}
""",
    "parameters_model_registry.yml": """
model_registry:
  model_name: churn-model-gap-events
  champion_alias: champion
  champion_metric: backtest_empc_mean
  n_input_example_rows: 5
""",
}


@pytest.fixture(scope="module")
def ravenstack_gap(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TrainedProject]:
    """RavenStack with churn from gaps (its churn events ignored)."""
    yield from run_on_shared_dataset(
        tmp_path_factory,
        "ravenstack",
        "ravenstack-saas",
        "subscription_periods",
        params=RAVENSTACK_GAP,
    )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrainedProject]:
    """The seeded event-level business, run in an environment of its own."""
    project = tmp_path_factory.mktemp("project_gap_events")
    copy_project(project)
    env = project / "conf" / ENV
    env.mkdir()
    for name, text in CONF.items():
        (env / name).write_text(text.lstrip())
    gap_events.write(project / "data/gap_events/01_raw")
    with inside(project) as trained:
        run_kedro(project, "subscription_periods", env=ENV)
        yield trained


def _periods(
    path: Path, columns: dict[str, str], dates: tuple[str, ...]
) -> pd.DataFrame:
    frame = pd.read_csv(path).rename(columns=columns)
    return frame.assign(**{d: pd.to_datetime(frame[d]) for d in dates})


def _report(project: TrainedProject, root: str, name: str) -> dict:
    return json.loads((project.path / root / "08_reporting" / name).read_text())


def _cancellations(project: TrainedProject, root: str) -> list[tuple]:
    events = pd.read_parquet(
        project.path / root / "02_intermediate/subscription_events.parquet"
    )
    cancelled = events[events["event_type"] == "cancellation"]
    return sorted(zip(cancelled["account_id"], cancelled["event_date"], strict=True))


def _check_labels(project: TrainedProject, root: str, churns: list[tuple]) -> None:
    """Every labelled row is 1 exactly when a gap churn falls in its horizon."""
    spine = pd.read_parquet(project.path / root / "03_primary/spine.parquet")
    labelled = spine[spine["is_labelled"]]
    churn = pd.DataFrame(churns, columns=["account_id", "churn_date"])
    joined = labelled.merge(churn, on="account_id", how="left")
    inside_horizon = (joined["churn_date"] > joined["as_of_date"]) & (
        joined["churn_date"] <= joined["as_of_date"] + HORIZON
    )
    expected = (
        joined.assign(hit=inside_horizon)
        .groupby(["account_id", "as_of_date"])["hit"]
        .any()
    )
    actual = labelled.set_index(["account_id", "as_of_date"])["label"]
    assert actual.sum() > 0
    assert (actual.astype(bool) == expected.reindex(actual.index)).all()


def _check_registered(project: TrainedProject, experiment: str, model: str) -> set:
    client = MlflowClient(project.tracking_uri)
    (run,) = pipeline_runs(client, experiment)
    assert 0.0 < run.data.metrics["backtest_roc_auc_mean"] <= 1.0
    fitted, _ = load_model(f"models:/{model}@champion")
    return set(fitted.feature_names_in_)


def test_ravenstack_churn_comes_from_gaps_not_its_churn_events(ravenstack_gap):
    subscriptions = _periods(
        SHARED_DATASETS / "ravenstack-saas/ravenstack_subscriptions.csv",
        {"billing_frequency": "billing_cycle"},
        ("start_date", "end_date"),
    )
    terms = subscriptions["billing_cycle"].map({"monthly": 30, "annual": 365})
    subscriptions["end_date"] = subscriptions["end_date"].fillna(
        subscriptions["start_date"] + pd.to_timedelta(terms, unit="D")
    )
    expected = gap_events.gold_churns(subscriptions, 30, pd.Timestamp("2024-12-31"))
    report = _report(ravenstack_gap, "data/ravenstack", "ingestion_report.json")
    assert report["derived"]["gap_churn_events"] == len(expected)
    assert report["tables"]["churn_events"]["ignored"] is True
    assert report["tables"]["churn_events"]["rows_in"] == 0
    for counts in report["tables"].values():
        assert counts["rows_in"] == counts["rows_accepted"] + counts["rows_rejected"]
    # The contract may reject a derived event, never invent one.
    cancellations = _cancellations(ravenstack_gap, "data/ravenstack")
    assert set(cancellations) <= set(expected)
    _check_labels(ravenstack_gap, "data/ravenstack", cancellations)
    features = _check_registered(
        ravenstack_gap, "churn-ravenstack", "churn-model-ravenstack"
    )
    assert "logins_30d" in features


def test_seeded_events_run_by_configuration_with_gap_labels(seeded):
    periods = _periods(
        seeded.path / "data/gap_events/01_raw/periods.csv",
        {"customer": "account_id", "begins": "start_date", "ends": "end_date"},
        ("start_date", "end_date"),
    )
    expected = gap_events.gold_churns(periods, gap_events.GAP_DAYS, gap_events.END)
    report = _report(seeded, "data/gap_events", "ingestion_report.json")
    assert report["derived"]["gap_churn_events"] == len(expected)
    assert report["derived"]["gap_accounts_censored"] > 0
    accounts = periods["account_id"].nunique()
    assert report["filled"] == {
        "subscriptions.subscription_id": len(periods),
        "usage_events.usage_id": report["tables"]["usage_events"]["rows_in"],
        "accounts.from_periods": accounts,
    }
    for counts in report["tables"].values():
        assert counts["rows_in"] == counts["rows_accepted"] + counts["rows_rejected"]
    validation = _report(seeded, "data/gap_events", "validation_report.json")
    assert validation["tables"]["accounts"]["rows_accepted"] == accounts
    assert _cancellations(seeded, "data/gap_events") == expected
    _check_labels(seeded, "data/gap_events", expected)


def test_seeded_model_learns_from_the_event_level_usage(seeded):
    features = _check_registered(seeded, "churn-gap-events", "churn-model-gap-events")
    assert {"logins_30d", "key_feature_uses_30d", "uses_reports_30d"} <= features
    table = pd.read_parquet(
        seeded.path / "data/gap_events/05_model_input/model_input_table.parquet"
    )
    labelled = table[table["is_labelled"]]
    means = labelled.groupby("label")["logins_30d"].mean()
    # Churners' usage fades before their gap: fewer logins in the last 30 days.
    assert means[1] < 0.7 * means[0]
