"""The registered model as a generic MLflow pyfunc, loaded in a fresh interpreter.

What a user of the registry (or ``mlflow models serve``) gets: a frame with a
named ``churn_probability`` column, as the logged signature declares.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from tests.models import synthetic

from churn_pipeline.model_registry.mlflow_store import load_model, log_and_register
from churn_pipeline.model_registry.pyfunc import OUTPUT_COLUMN
from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.scoring.policy import ScoringPolicy

MODEL_NAME = "churn-pyfunc-test"
# Loads the champion with nothing of this test process: a new interpreter, the
# store named by the environment only.
LOAD_AND_PREDICT = textwrap.dedent(
    """
    import sys

    import mlflow
    import pandas as pd

    model = mlflow.pyfunc.load_model(sys.argv[1])
    model.predict(pd.read_parquet(sys.argv[2])).to_parquet(sys.argv[3])
    """
)


@dataclass(frozen=True)
class Store:
    root: Path
    uri: str
    experiment_id: str
    model: ChurnEnsemble
    policy: ScoringPolicy


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The synthetic ensemble registered as ``MODEL_NAME`` v1, alias champion."""
    root = tmp_path_factory.mktemp("pyfunc")
    model = synthetic.fitted_model()
    policy = ScoringPolicy.from_params(
        synthetic.SCORING_PARAMS, synthetic.PROFIT_PARAMS
    )
    with synthetic.mlflow_store(root) as experiment_id:
        with mlflow.start_run(experiment_id=experiment_id):
            version = log_and_register(
                model,
                synthetic.holdout_table().head(5),
                policy,
                model_name=MODEL_NAME,
            )
        MlflowClient().set_registered_model_alias(MODEL_NAME, "champion", version)
        yield Store(root, mlflow.get_tracking_uri(), experiment_id, model, policy)


def _predict_in_fresh_process(store: Store, rows: pd.DataFrame) -> pd.DataFrame:
    rows.to_parquet(store.root / "rows.parquet")
    env = {
        key: value
        for key, value in os.environ.items()
        # What this process set for itself must not help the child.
        if key not in {"MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "MLFLOW_REGISTRY_URI"}
    }
    env["MLFLOW_TRACKING_URI"] = store.uri
    subprocess.run(
        [
            sys.executable,
            "-c",
            LOAD_AND_PREDICT,
            f"models:/{MODEL_NAME}@champion",
            str(store.root / "rows.parquet"),
            str(store.root / "answer.parquet"),
        ],
        check=True,
        cwd=store.root,
        env=env,
        timeout=300,
    )
    return pd.read_parquet(store.root / "answer.parquet")


def test_fresh_process_gets_named_churn_probabilities(store: Store) -> None:
    holdout = synthetic.holdout_table().head(50)
    # Scored tables carry the account id; the pyfunc ignores what it does not use.
    rows = pd.concat(
        [holdout["account_id"], holdout[list(store.model.feature_names_in_)]], axis=1
    )

    answer = _predict_in_fresh_process(store, rows)

    assert answer.columns.tolist() == [OUTPUT_COLUMN]
    assert answer[OUTPUT_COLUMN].dtype == np.float64
    np.testing.assert_array_equal(
        answer[OUTPUT_COLUMN].to_numpy(), store.model.predict_proba(holdout)[:, 1]
    )


def test_signature_declares_what_predict_returns(store: Store) -> None:
    info = mlflow.models.get_model_info(f"models:/{MODEL_NAME}@champion")
    outputs = info.signature.outputs.to_dict()
    holdout = synthetic.holdout_table().head(5)

    answer = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion").predict(holdout)

    assert outputs == [{"name": OUTPUT_COLUMN, "type": "double", "required": True}]
    assert isinstance(answer, pd.DataFrame)
    assert answer.columns.tolist() == [OUTPUT_COLUMN]
    pd.testing.assert_index_equal(answer.index, holdout.index)


def test_load_model_unwraps_the_ensemble(store: Store) -> None:
    holdout = synthetic.holdout_table()

    model, _ = load_model(f"models:/{MODEL_NAME}@champion")

    assert isinstance(model, ChurnEnsemble)
    np.testing.assert_array_equal(
        model.predict_proba(holdout), store.model.predict_proba(holdout)
    )


def test_load_model_still_reads_versions_logged_before_the_pyfunc(
    store: Store,
) -> None:
    # How versions were logged until the pyfunc wrapper: the sklearn flavour.
    with mlflow.start_run(experiment_id=store.experiment_id):
        mlflow.sklearn.log_model(
            store.model,
            name="model",
            serialization_format="cloudpickle",
            metadata={"scoring_policy": store.policy.to_dict()},
            registered_model_name="churn-sklearn-flavour",
        )
    holdout = synthetic.holdout_table()

    model, policy = load_model("models:/churn-sklearn-flavour/1")

    assert policy == store.policy
    np.testing.assert_array_equal(
        model.predict_proba(holdout), store.model.predict_proba(holdout)
    )
