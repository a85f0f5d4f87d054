"""ChampionModelDataset says why no version holds the alias (real sqlite store)."""

from __future__ import annotations

from collections.abc import Callable

import mlflow
import pytest
from kedro.io import DatasetError
from mlflow.tracking import MlflowClient

from churn_pipeline.datasets import ChampionModelDataset


def test_no_registered_version_says_train_one(experiment_id: str) -> None:
    with pytest.raises(DatasetError, match=r"no version of 'never-trained' is"):
        ChampionModelDataset(model_name="never-trained").load()


def test_versions_refused_by_the_gate_name_the_reason_and_the_fix(
    register_synthetic: Callable[..., tuple[str, str]],
) -> None:
    version, run_id = register_synthetic("gated-model")
    reason = "backtest_empc_mean 1.0 < baseline_xgboost's 2.0 - 1.0 sd: not promoted"
    MlflowClient().set_tag(run_id, "champion_decision_reason", reason)
    with pytest.raises(DatasetError) as caught:
        ChampionModelDataset(model_name="gated-model").load()
    message = str(caught.value)
    assert f"Newest v{version}: {reason}" in message
    assert "baseline_tolerance_sd" in message
    assert f"set_registered_model_alias('gated-model', 'champion', {version})" in (
        message
    )


def test_the_champion_loads_once_promoted(
    register_synthetic: Callable[..., tuple[str, str]],
) -> None:
    version, _ = register_synthetic("promoted-model")
    MlflowClient().set_registered_model_alias("promoted-model", "champion", version)
    served = ChampionModelDataset(model_name="promoted-model").load()
    assert served.version == version
    assert mlflow.get_registry_uri().startswith("sqlite:")
