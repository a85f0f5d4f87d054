"""Following the champion alias in a real (sqlite) MLflow registry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from churn_pipeline.model_registry.mlflow_store import ServedModel, load_served_model
from churn_pipeline.serving.follower import ChampionFollower

MODEL_NAME = "churn-model"


@pytest.fixture(scope="module")
def registry(mlflow_root: Path, register_synthetic: Callable[..., object]) -> Path:
    """Two registered versions; v1 holds the champion alias."""
    for _ in range(2):
        register_synthetic(MODEL_NAME, rows=3)
    return mlflow_root


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
