"""Logging metrics and registering the model inside a Kedro-style MLflow run."""

from __future__ import annotations

from typing import Any

import mlflow
import pytest
from kedro_mlflow.io.metrics import MlflowMetricsHistoryDataset
from mlflow.tracking import MlflowClient
from tests.models import synthetic

from churn_pipeline.features import feature_names
from churn_pipeline.models.baseline import single_member
from churn_pipeline.pipelines.model_registry.nodes import (
    register_model,
    run_metrics,
    tag_absent_tables,
    validation_metrics,
    write_model_card,
)

PARAMS = {
    "model_name": "churn-model",
    "champion_alias": "champion",
    "champion_metric": "backtest_empc_mean",
    "n_input_example_rows": 5,
}


VALIDATION_REPORT = {
    "tables": {
        "usage": {
            "table": "usage",
            "rows_in": 10,
            "rows_accepted": 8,
            "rows_rejected": 2,
            "rejected_by_rule": {"logins: greater_than_or_equal_to(0)": 2},
        }
    },
    "rows_in": 10,
    "rows_accepted": 8,
    "rows_rejected": 2,
}


def test_validation_metrics_are_flat_and_mlflow_safe() -> None:
    assert validation_metrics(VALIDATION_REPORT) == {
        "validation_usage_rows_in": 10.0,
        "validation_usage_rows_accepted": 8.0,
        "validation_usage_rows_rejected": 2.0,
        "validation_usage_rejected_logins_greater_than_or_equal_to_0": 2.0,
    }


def _run_nodes(
    experiment_id: str,
    empc: float,
    model_name: str,
    *,
    baseline: float | None = None,
    params: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], str]:
    metrics = {
        "backtest_empc_mean": empc,
        "backtest_empc_sd": 0.5,
        "test_empc": 3.0,
        "test_roc_auc": 0.7,
    }
    if baseline is not None:
        metrics["baseline_xgboost_backtest_empc_mean"] = baseline
    with mlflow.start_run(experiment_id=experiment_id) as run:
        # As the catalog's run_metrics entry logs them.
        MlflowMetricsHistoryDataset(prefix="").save(
            run_metrics(metrics, VALIDATION_REPORT)
        )
        tag_absent_tables(VALIDATION_REPORT)
        decision = register_model(
            synthetic.fitted_model(),
            synthetic.holdout_table(),
            metrics,
            {**PARAMS, **(params or {}), "model_name": model_name},
            synthetic.SCORING_PARAMS,
            synthetic.PROFIT_PARAMS,
        )
        write_model_card(synthetic.fitted_model(), metrics, decision)
    return decision, run.info.run_id


def test_register_model_records_the_decision(
    experiment_id: str, decision_keys: frozenset[str]
) -> None:
    first, first_run = _run_nodes(experiment_id, 5.0, "churn-model")
    second, second_run = _run_nodes(experiment_id, 4.0, "churn-model")

    assert set(first) == decision_keys
    assert (first["version"], first["promoted"]) == ("1", True)
    assert (second["version"], second["promoted"]) == ("2", False)
    assert second["champion_version"] == "1"
    assert second["reason"] == (
        "no baseline_xgboost_backtest_empc_mean logged: baseline not checked; "
        "backtest_empc_mean 4.0000 < champion v1's 5.0000"
    )

    client = MlflowClient()
    champion = client.get_model_version_by_alias("churn-model", "champion")
    assert str(champion.version) == "1"
    for decision, run_id in ((first, first_run), (second, second_run)):
        run = client.get_run(run_id)
        assert run.data.tags["model_version"] == decision["version"]
        assert run.data.tags["champion_promoted"] == str(decision["promoted"]).lower()
        assert run.data.tags["champion_decision_reason"] == decision["reason"]
        version = client.get_model_version("churn-model", decision["version"])
        assert version.run_id == run_id
    assert client.get_run(first_run).data.metrics == {
        "backtest_empc_mean": 5.0,
        "backtest_empc_sd": 0.5,
        "test_empc": 3.0,
        "test_roc_auc": 0.7,
        **validation_metrics(VALIDATION_REPORT),
    }


@pytest.mark.parametrize(
    ("tolerance", "promoted"),
    # Ensemble 4.0 (sd 0.5) against the baseline's 4.6: 0.6 behind.
    [(0.0, False), (1.0, False), (None, False), (1.25, True), (2.0, True)],
    ids=["strict", "one-sd", "default", "1.25-sd", "two-sd"],
)
def test_the_gate_refuses_an_ensemble_worse_than_the_baseline(
    experiment_id: str, tolerance: float | None, promoted: bool
) -> None:
    name = f"churn-model-gate-{tolerance}"
    params = {} if tolerance is None else {"baseline_tolerance_sd": tolerance}

    decision, run_id = _run_nodes(experiment_id, 4.0, name, baseline=4.6, params=params)

    assert decision["promoted"] is promoted
    reason = decision["reason"]
    assert "backtest_empc_mean 4.0000" in reason
    assert "baseline_xgboost's 4.6000" in reason
    assert f"{1.0 if tolerance is None else tolerance:g} x sd 0.5000" in reason
    assert reason.endswith("no version held alias 'champion'")
    client = MlflowClient()
    tags = client.get_run(run_id).data.tags
    assert tags["champion_promoted"] == str(promoted).lower()
    assert tags["champion_decision_reason"] == reason
    only = single_member(synthetic.fitted_model().weights_)
    assert tags["ensemble_single_member"] == (only or "none")
    # Refused or not, the version is registered: the evidence stays.
    assert client.get_model_version(name, decision["version"]).run_id == run_id
    aliases = client.get_registered_model(name).aliases
    assert ("champion" in aliases) is promoted
    card = client.get_model_version(name, decision["version"]).description
    assert f"({reason})" in card


def test_a_champion_metric_the_run_did_not_log_registers_nothing(
    experiment_id: str,
) -> None:
    name = "churn-model-unlogged-metric"
    with pytest.raises(ValueError, match="'cv_empc_mean' is not among"):
        _run_nodes(experiment_id, 1.0, name, params={"champion_metric": "cv_empc_mean"})

    assert MlflowClient().search_model_versions(f"name = '{name}'") == []


def test_registered_policy_follows_the_parameters(experiment_id: str) -> None:
    decision, _ = _run_nodes(experiment_id, 1.0, "churn-model-policy")

    info = mlflow.models.get_model_info(
        f"models:/churn-model-policy/{decision['version']}"
    )
    policy = info.metadata["scoring_policy"]
    assert policy["contact_threshold"] == pytest.approx(11 / 67)
    assert policy["n_reasons"] == synthetic.SCORING_PARAMS["n_reasons"]
    assert info.saved_input_example_info is not None
    assert [c["name"] for c in info.signature.inputs.to_dict()] == feature_names()


def test_each_version_carries_a_model_card_with_its_decision(
    experiment_id: str,
) -> None:
    first, _ = _run_nodes(experiment_id, 2.0, "churn-model-card")
    second, _ = _run_nodes(experiment_id, 1.0, "churn-model-card")

    client = MlflowClient()
    model = synthetic.fitted_model()
    for decision in (first, second):
        card = client.get_model_version(
            "churn-model-card", decision["version"]
        ).description
        assert card.startswith(f"# Model card: churn-model-card v{decision['version']}")
        promoted = "yes" if decision["promoted"] else "no"
        assert f"Promoted: **{promoted}** ({decision['reason']})" in card
        assert f"| backtest_empc | {decision['new_value']:.4f} | 0.5000 |" in card
        for name, weight in model.weights_.items():
            assert f"| {name} | {weight:.3f} |" in card
        assert model.periods_["member_fit"][0] in card
    assert "Promoted: **no**" in card
