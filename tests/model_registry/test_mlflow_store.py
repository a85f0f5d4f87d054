"""Registering, promoting and loading models in a real (sqlite) MLflow store."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from tests.models import synthetic

from churn_pipeline.model_registry.mlflow_store import (
    BaselineCheck,
    ChampionDecision,
    check_against_baseline,
    load_model,
    load_served_model,
    promote_if_not_worse,
)
from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.scoring.policy import ScoringPolicy
from churn_pipeline.serving.metadata import model_metadata

MODEL_NAME = "churn-model"
METRIC = "test_empc"


@dataclass(frozen=True)
class Registered:
    """The store, and the first version registered in it."""

    root: Path
    experiment_id: str
    version: str
    run_id: str
    model: ChurnEnsemble
    policy: ScoringPolicy


@pytest.fixture(scope="module")
def registered(
    mlflow_root: Path,
    experiment_id: str,
    register_synthetic: Callable[..., tuple[str, str]],
    scoring_policy: ScoringPolicy,
) -> Registered:
    version, run_id = register_synthetic(MODEL_NAME, rows=5, metrics={METRIC: 5.0})
    return Registered(
        mlflow_root,
        experiment_id,
        version,
        run_id,
        synthetic.fitted_model(),
        scoring_policy,
    )


@pytest.fixture
def client(registered: Registered) -> MlflowClient:
    return MlflowClient()


def _candidate(
    client: MlflowClient, experiment_id: str, name: str, metric: float | None
) -> str:
    """Register a new version of ``name`` from a run that logged ``metric``."""
    with mlflow.start_run(experiment_id=experiment_id) as run:
        if metric is not None:
            mlflow.log_metric(METRIC, metric)
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name)
    version = client.create_model_version(
        name, source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id
    )
    return str(version.version)


def _promote(
    client: MlflowClient,
    name: str,
    version: str,
    value: float,
    baseline: BaselineCheck | None = None,
) -> ChampionDecision:
    return promote_if_not_worse(
        client,
        model_name=name,
        alias="champion",
        version=version,
        metric=METRIC,
        new_value=value,
        baseline=baseline,
    )


def _champion(client: MlflowClient, name: str) -> str:
    return str(client.get_model_version_by_alias(name, "champion").version)


# ----------------------------------------------------------------- registering
def test_store_lives_in_tmp_path(registered: Registered) -> None:
    assert mlflow.get_tracking_uri() == f"sqlite:///{registered.root}/mlflow.db"
    assert mlflow.get_registry_uri() == mlflow.get_tracking_uri()
    artifact_uri = mlflow.get_run(registered.run_id).info.artifact_uri
    assert artifact_uri.startswith((registered.root / "artifacts").as_uri())


def test_log_and_register_creates_version_one_with_signature(
    registered: Registered, client: MlflowClient
) -> None:
    assert registered.version == "1"
    version = client.get_model_version(MODEL_NAME, "1")
    assert version.run_id == registered.run_id

    info = mlflow.models.get_model_info(f"models:/{MODEL_NAME}/1")
    inputs = info.signature.inputs.to_dict()
    assert [c["name"] for c in inputs] == list(registered.model.feature_names_in_)
    types = {c["name"]: c["type"] for c in inputs}
    assert types["logins_30d"] == "double"
    assert types["plan"] == "string"
    assert info.signature.outputs is not None
    assert info.metadata["scoring_policy"] == registered.policy.to_dict()


def test_load_model_round_trips(registered: Registered, monkeypatch) -> None:
    # load_model opts in to unpickling through the environment; keep that local.
    monkeypatch.delenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", raising=False)
    holdout = synthetic.holdout_table()

    model, policy = load_model(f"models:/{MODEL_NAME}/{registered.version}")

    assert isinstance(model, ChurnEnsemble)
    assert policy == registered.policy
    np.testing.assert_array_equal(
        model.predict_proba(holdout), registered.model.predict_proba(holdout)
    )
    pd.testing.assert_frame_equal(
        model.explain(holdout.head(20)).contributions,
        registered.model.explain(holdout.head(20)).contributions,
    )


# ------------------------------------------------------------------- promoting
def test_promotes_when_no_champion(
    registered: Registered, client: MlflowClient
) -> None:
    decision = _promote(client, MODEL_NAME, registered.version, 5.0)

    assert decision.promoted
    assert decision.champion_version is None
    assert decision.champion_value is None
    assert "no version held alias 'champion'" in decision.reason
    assert _champion(client, MODEL_NAME) == registered.version
    # The champion alias resolves for load_model, as the service uses it.
    _, policy = load_model(f"models:/{MODEL_NAME}@champion")
    assert policy == registered.policy


@pytest.mark.parametrize(
    ("champion_value", "new_value", "promoted"),
    [
        (5.0, 4.0, False),
        (5.0, 4.99995, False),
        (5.0, 5.0, True),
        (5.0, 6.5, True),
        (-2.0, -3.0, False),
        (0.0, 0.0, True),
    ],
)
def test_champion_moves_only_if_not_worse(
    registered: Registered,
    client: MlflowClient,
    request: pytest.FixtureRequest,
    champion_value: float,
    new_value: float,
    promoted: bool,
) -> None:
    name = f"promotion-{request.node.callspec.id}"
    old = _candidate(client, registered.experiment_id, name, champion_value)
    assert _promote(client, name, old, champion_value).promoted
    new = _candidate(client, registered.experiment_id, name, new_value)

    decision = _promote(client, name, new, new_value)

    assert decision.promoted is promoted
    assert _champion(client, name) == (new if promoted else old)
    assert decision.version == new
    assert decision.champion_version == old
    assert decision.champion_value == champion_value
    assert decision.new_value == new_value
    assert f"{new_value:.4f}" in decision.reason
    assert f"{champion_value:.4f}" in decision.reason
    assert f"v{old}" in decision.reason
    assert (">=" if promoted else "<") in decision.reason


@pytest.mark.parametrize("old_metric", [None, float("nan")], ids=["missing", "nan"])
def test_promotes_over_a_champion_without_a_usable_metric(
    registered: Registered, client: MlflowClient, old_metric: float | None
) -> None:
    name = f"promotion-no-metric-{old_metric}"
    old = _candidate(client, registered.experiment_id, name, old_metric)
    _promote(client, name, old, 1.0)
    new = _candidate(client, registered.experiment_id, name, 0.5)

    decision = _promote(client, name, new, 0.5)

    assert decision.promoted
    assert decision.reason == f"champion v{old} has no usable {METRIC}"
    assert decision.champion_value is None
    assert _champion(client, name) == new


def test_decision_is_plain_json(
    registered: Registered, client: MlflowClient, decision_keys: frozenset[str]
) -> None:
    name = "promotion-json"
    version = _candidate(client, registered.experiment_id, name, 3.0)

    decision = _promote(client, name, version, 3.0).to_dict()

    assert json.loads(json.dumps(decision)) == decision
    assert set(decision) == decision_keys


# --------------------------------------------------------------- baseline gate
GATE = "backtest_empc_mean"


@pytest.mark.parametrize(
    ("value", "baseline", "sd", "tolerance", "passed"),
    [
        (28.1, 33.0, 2.1, 1.0, False),  # 4.9 behind, allowed 2.1
        (31.0, 33.0, 2.0, 1.0, True),  # exactly at the tolerance
        (30.75, 33.0, 2.0, 1.0, False),
        (29.0, 33.0, 2.0, 2.0, True),  # allowed 4.0
        (28.75, 33.0, 2.0, 2.0, False),
        (33.0, 33.0, 2.1, 0.0, True),  # strictly: a tie passes
        (32.9, 33.0, 2.1, 0.0, False),
        (35.0, 33.0, 0.0, 1.0, True),  # ahead of the baseline
        (-3.0, -1.0, 1.5, 1.0, False),  # negative profits compare the same way
    ],
)
def test_baseline_check_allows_the_ensembles_own_spread(
    value: float, baseline: float, sd: float, tolerance: float, passed: bool
) -> None:
    metrics = {
        GATE: value,
        "backtest_empc_sd": sd,
        f"baseline_xgboost_{GATE}": baseline,
        "baseline_xgboost_backtest_empc_sd": 99.0,  # the baseline's own: unused
    }

    check = check_against_baseline(metrics, GATE, tolerance)

    assert check.passed is passed
    compared = f"ensemble {GATE} {value:.4f}"
    if value >= baseline:
        assert check.reason == f"{compared} >= baseline_xgboost's {baseline:.4f}"
    else:
        rule = f"than {tolerance:g} x sd {sd:.4f}"
        assert check.reason == (
            f"{compared} is below baseline_xgboost's {baseline:.4f} by "
            + (f"no more {rule}" if passed else f"more {rule}: not promoted")
        )


def test_a_single_value_metric_has_no_spread_to_allow() -> None:
    metrics = {"test_empc": 2.9, "baseline_xgboost_test_empc": 3.0, "test_empc_sd": 5.0}

    check = check_against_baseline(metrics, "test_empc", 10.0)

    assert not check.passed
    assert "by more than 10 x sd 0.0000: not promoted" in check.reason


@pytest.mark.parametrize("baseline", [None, float("nan")], ids=["missing", "nan"])
def test_without_a_baseline_the_check_passes_and_says_so(
    baseline: float | None,
) -> None:
    metrics = {GATE: 1.0, "backtest_empc_sd": 0.1}
    if baseline is not None:
        metrics[f"baseline_xgboost_{GATE}"] = baseline

    check = check_against_baseline(metrics, GATE, 1.0)

    assert check == BaselineCheck(
        True, f"no baseline_xgboost_{GATE} logged: baseline not checked"
    )


@pytest.mark.parametrize(
    ("metrics", "tolerance", "match"),
    [
        ({"cv_empc_mean": 1.0}, 1.0, r"'backtest_empc_mean' is not among .*cv_empc"),
        ({GATE: 1.0}, -0.5, "baseline_tolerance_sd must be >= 0, got -0.5"),
    ],
)
def test_baseline_check_refuses_bad_input(
    metrics: dict[str, float], tolerance: float, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        check_against_baseline(metrics, GATE, tolerance)


REFUSED = BaselineCheck(False, "ensemble is below baseline: not promoted")


@pytest.mark.parametrize("has_champion", [False, True], ids=["first", "better"])
def test_a_failed_baseline_check_refuses_promotion_but_keeps_the_version(
    registered: Registered, client: MlflowClient, has_champion: bool
) -> None:
    name = f"baseline-refused-{has_champion}"
    old = _candidate(client, registered.experiment_id, name, 1.0)
    if has_champion:
        _promote(client, name, old, 1.0)
    new = _candidate(client, registered.experiment_id, name, 9.0)

    decision = _promote(client, name, new, 9.0, baseline=REFUSED)

    assert not decision.promoted
    assert decision.reason.startswith(f"{REFUSED.reason}; ")
    assert str(client.get_model_version(name, new).version) == new
    if has_champion:
        assert _champion(client, name) == old
        assert decision.reason.endswith(f"9.0000 >= champion v{old}'s 1.0000")
    else:
        with pytest.raises(MlflowException):
            client.get_model_version_by_alias(name, "champion")


def test_a_passed_baseline_check_leaves_the_champion_rule_to_decide(
    registered: Registered, client: MlflowClient
) -> None:
    name = "baseline-passed"
    old = _candidate(client, registered.experiment_id, name, 5.0)
    _promote(client, name, old, 5.0)
    passed = BaselineCheck(True, "ensemble is not below baseline")
    worse = _candidate(client, registered.experiment_id, name, 4.0)
    better = _candidate(client, registered.experiment_id, name, 6.0)

    refused = _promote(client, name, worse, 4.0, baseline=passed)
    promoted = _promote(client, name, better, 6.0, baseline=passed)

    assert not refused.promoted
    assert promoted.promoted
    assert (
        promoted.reason
        == f"{passed.reason}; {METRIC} 6.0000 >= champion v{old}'s 5.0000"
    )
    assert _champion(client, name) == better


# -------------------------------------------------------------------- serving
def test_load_served_model_by_version_knows_where_it_is_from(
    registered: Registered,
) -> None:
    served = load_served_model(f"models:/{MODEL_NAME}/{registered.version}")

    assert (served.name, served.version, served.alias) == (
        MODEL_NAME,
        registered.version,
        None,
    )
    assert served.policy == registered.policy
    # Only the headline metrics the run logged.
    assert served.metrics == {METRIC: 5.0}
    metadata = model_metadata(served)
    assert [f.name for f in metadata.features] == list(
        registered.model.feature_names_in_
    )
    assert metadata.training_window == registered.model.periods_


def test_load_served_model_by_alias(registered: Registered, client) -> None:
    _promote(client, MODEL_NAME, registered.version, 5.0)

    served = load_served_model(f"models:/{MODEL_NAME}@champion")

    assert served.alias == "champion"
    assert served.version == registered.version


@pytest.mark.parametrize("uri", ["runs:/abc/model", "models:/", "churn-model@champion"])
def test_load_served_model_needs_a_registry_uri(uri: str) -> None:
    with pytest.raises(ValueError, match="models:/<name>@<alias>"):
        load_served_model(uri)
