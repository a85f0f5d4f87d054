"""Following the champion alias in a real (sqlite) MLflow registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient
from tests.models import synthetic

from churn_pipeline.model_registry.mlflow_store import (
    ServedModel,
    load_served_model,
    log_and_register,
)
from churn_pipeline.scoring.policy import ScoringPolicy
from churn_pipeline.serving.follower import ChampionFollower

MODEL_NAME = "churn-model"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Two registered versions; v1 holds the champion alias."""
    root = tmp_path_factory.mktemp("follow")
    model = synthetic.fitted_model()
    policy = ScoringPolicy.from_params(
        synthetic.SCORING_PARAMS, synthetic.PROFIT_PARAMS
    )
    with synthetic.mlflow_store(root) as experiment_id:
        for _ in range(2):
            with mlflow.start_run(experiment_id=experiment_id):
                log_and_register(
                    model,
                    synthetic.holdout_table().head(3),
                    policy,
                    model_name=MODEL_NAME,
                )
        yield root


@pytest.fixture
def client(registry: Path) -> MlflowClient:
    client = MlflowClient()
    client.set_registered_model_alias(MODEL_NAME, "champion", "1")
    return client


def _follower(accepted: list[str], refuse: bool = False) -> ChampionFollower:
    def accept(served: ServedModel) -> None:
        if refuse:
            raise ValueError("different features")
        accepted.append(served.version)

    served = load_served_model(f"models:/{MODEL_NAME}@champion")
    return ChampionFollower(served, accept=accept, interval_s=30)


def test_swaps_in_the_new_holder_of_the_alias(client: MlflowClient) -> None:
    accepted: list[str] = []
    follower = _follower(accepted)
    assert follower.current.version == "1"
    assert follower.check() is False  # nothing moved
    client.set_registered_model_alias(MODEL_NAME, "champion", "2")
    assert follower.check() is True
    assert follower.current.version == "2"
    assert accepted == ["2"]
    # Still the alias it follows, so /metadata says what it serves by.
    assert follower.current.uri == f"models:/{MODEL_NAME}@champion"
    assert follower.current.alias == "champion"


def test_a_refused_version_keeps_the_old_one_serving(client: MlflowClient) -> None:
    follower = _follower([], refuse=True)
    client.set_registered_model_alias(MODEL_NAME, "champion", "2")
    assert follower.check() is False
    assert follower.current.version == "1"
    assert follower.check() is False  # refused once, not reloaded every interval


def test_a_version_uri_is_never_followed(client: MlflowClient) -> None:
    served = load_served_model(f"models:/{MODEL_NAME}/1")
    follower = ChampionFollower(served, accept=lambda s: None, interval_s=5)
    assert not follower.follows
    client.set_registered_model_alias(MODEL_NAME, "champion", "2")
    assert follower.check() is False


def test_negative_interval_is_refused(client: MlflowClient) -> None:
    served = load_served_model(f"models:/{MODEL_NAME}@champion")
    with pytest.raises(ValueError, match="interval_s must be >= 0"):
        ChampionFollower(served, accept=lambda s: None, interval_s=-1)
