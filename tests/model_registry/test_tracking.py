"""Run names and the experiment's kind tag, on a real sqlite MLflow store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from tests.models import synthetic

from churn_pipeline.model_registry.tracking import (
    EXPERIMENT_KIND_TAG,
    MODEL_TRAINING_KIND,
    label_experiment,
    run_name,
)

STARTED = dt.datetime(2025, 12, 2, 13, 38, 59)


@pytest.mark.parametrize(
    ("pipelines", "env", "expected"),
    [
        (None, "local", "event_history local 2025-12-02 13:38"),
        (["__default__"], "local", "event_history local 2025-12-02 13:38"),
        (["customer_table"], "telco", "customer_table telco 2025-12-02 13:38"),
        (
            ["feature_engineering", "model_training"],
            "spark",
            "feature_engineering+model_training spark 2025-12-02 13:38",
        ),
    ],
)
def test_run_name_says_what_ran_where_and_when(
    pipelines: list[str] | None, env: str, expected: str
) -> None:
    assert run_name(pipelines, env, STARTED) == expected


@pytest.fixture
def client(tmp_path: Path) -> Iterator[MlflowClient]:
    """A client on a new store holding one untagged experiment, ``tests``."""
    with synthetic.mlflow_store(tmp_path):
        yield MlflowClient()


def _kind(client: MlflowClient) -> str | None:
    experiment = client.get_experiment_by_name("tests")
    assert experiment is not None
    return experiment.tags.get(EXPERIMENT_KIND_TAG)


def test_untagged_experiment_is_labelled_model_training_once(
    client: MlflowClient,
) -> None:
    assert _kind(client) is None

    assert label_experiment(client, "tests")
    assert _kind(client) == MODEL_TRAINING_KIND
    assert not label_experiment(client, "tests")
    assert _kind(client) == MODEL_TRAINING_KIND


def test_a_kind_chosen_in_the_ui_is_kept(client: MlflowClient) -> None:
    experiment = client.get_experiment_by_name("tests")
    assert experiment is not None
    client.set_experiment_tag(
        experiment.experiment_id, EXPERIMENT_KIND_TAG, "genai_development"
    )

    assert not label_experiment(client, "tests")
    assert _kind(client) == "genai_development"


def test_unknown_experiment_is_named(client: MlflowClient) -> None:
    with pytest.raises(ValueError, match="No MLflow experiment named 'nope'"):
        label_experiment(client, "nope")
