"""The real BentoML server, started on 127.0.0.1, serving the trained champion."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from churn_pipeline.api_schema import example_request
from churn_pipeline.features import feature_names

pytestmark = [pytest.mark.e2e, pytest.mark.serving]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 180


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(trained_project, tmp_path_factory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("bentoml") / "server.log"
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": trained_project.tracking_uri,
        "CHURN_MODEL_URI": "models:/churn-model@champion",
        "BENTOML_HOME": str(tmp_path_factory.mktemp("bentoml_home")),
    }
    bentoml = Path(sys.executable).with_name("bentoml")
    command = [str(bentoml), "serve", "serving.service:ChurnService"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with log.open("w") as output:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # bentoml forks workers: stop the whole group
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"bentoml exited early:\n{log.read_text()[-4000:]}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"bentoml not ready in time:\n{log.read_text()[-4000:]}")
            time.sleep(1)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _request_body(rows: pd.DataFrame) -> dict:
    records = rows[["account_id", *feature_names()]].to_dict(orient="records")
    clean = [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
        for r in records
    ]
    return {"accounts": clean}


def test_served_probability_equals_batch_score(server, trained_project):
    data = trained_project.path / "data"
    scoring = pd.read_parquet(data / "05_model_input/scoring_snapshots.parquet")
    scores = pd.read_parquet(data / "07_model_output/churn_scores.parquet")
    # The riskiest and the safest accounts, plus one never surveyed (null NPS).
    picked = pd.concat(
        [
            scoring[scoring["account_id"].isin(scores["account_id"].head(3))],
            scoring[scoring["account_id"].isin(scores["account_id"].tail(3))],
            scoring[scoring["last_nps"].isna()].head(1),
        ]
    ).drop_duplicates("account_id")
    response = httpx.post(f"{server}/predict", json=_request_body(picked), timeout=60)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_uri"] == "models:/churn-model@champion"
    served = pd.DataFrame(body["predictions"]).set_index("account_id")
    batch = scores.set_index("account_id").loc[served.index]
    np.testing.assert_allclose(
        served["churn_probability"], batch["churn_probability"], rtol=0, atol=1e-12
    )
    assert (served["risk_band"] == batch["risk_band"]).all()
    assert (served["contact"] == batch["contact"]).all()
    assert served["top_reasons"].tolist() == batch["top_reasons"].map(list).tolist()


def test_example_request_file_is_answered(server):
    body = json.loads((PROJECT_ROOT / "serving/example_request.json").read_text())
    response = httpx.post(f"{server}/predict", json=body, timeout=60)
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert len(predictions) == len(body["accounts"])
    for prediction in predictions:
        assert 0.0 <= prediction["churn_probability"] <= 1.0
        assert prediction["risk_band"] in {"green", "yellow", "red"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"logins_30d": -3}, "logins_30d"),
        ({"tenure_days": "long"}, "tenure_days"),
        ({"last_nps": 11}, "last_nps"),
        ({"plan": ""}, "plan"),
        ({"logins_per_day": 4}, "logins_per_day"),
    ],
)
def test_invalid_input_gets_400_naming_the_field(server, change, field):
    body = example_request()
    body["accounts"][0].update(change)
    response = httpx.post(f"{server}/predict", json=body, timeout=60)
    assert response.status_code == 400
    locations = [error["loc"] for error in response.json()["detail"]]
    assert any(field in location for location in locations), locations


def test_missing_field_and_empty_list_get_400(server):
    body = example_request()
    del body["accounts"][0]["mrr"]
    response = httpx.post(f"{server}/predict", json=body, timeout=60)
    assert response.status_code == 400
    assert "mrr" in response.text
    empty = httpx.post(f"{server}/predict", json={"accounts": []}, timeout=60)
    assert empty.status_code == 400
