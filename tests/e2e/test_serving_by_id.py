"""Scoring by account id: the daily run's store, read by the real BentoML server."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import redis
from mlflow.tracking import MlflowClient
from tests.e2e.conftest import run_kedro
from tests.e2e.servers import running_server
from tests.redis_server import redis_server

from churn_pipeline.feature_store import OnlineStoreSettings, write_online
from churn_pipeline.features import FEATURES_BY_NAME, feature_names

pytestmark = [pytest.mark.e2e, pytest.mark.serving]
N_IDS = 20
DEADLINE_S = 180


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("bentoml_by_id")


@pytest.fixture(scope="module")
def server(trained_project, home) -> Iterator[str]:
    with running_server(trained_project, home / "server.log", home) as url:
        yield url


def _daily(project) -> pd.DataFrame:
    return pd.read_parquet(project.path / "data/07_model_output/daily_scores.parquet")


def _ids_body(ids) -> dict:
    return {"accounts": [{"account_id": account_id} for account_id in ids]}


def _predict(url: str, body: dict) -> httpx.Response:
    return httpx.post(f"{url}/predict", json=body, timeout=60)


def _check_same_as_scored_list(response: httpx.Response, daily: pd.DataFrame):
    assert response.status_code == 200, response.text[:1000]
    body = response.json()
    served = pd.DataFrame(body["predictions"]).set_index("account_id")
    listed = daily.set_index("account_id").loc[served.index]
    np.testing.assert_allclose(
        served["churn_probability"], listed["churn_probability"], rtol=0, atol=1e-9
    )
    as_of = pd.Timestamp(daily["as_of_date"].max()).date().isoformat()
    assert set(served["features_as_of"]) == {as_of}
    assert (served["overridden"].map(len) == 0).all()
    assert body["model_version"] == str(listed["model_version"].iloc[0])
    assert set(served["model_version"]) == {body["model_version"]}
    # The account as the list shows it, for an application that knows only an id.
    for column in ("plan", "seats", "tenure_months", "currency"):
        assert served[column].tolist() == listed[column].tolist(), column
    np.testing.assert_allclose(served["mrr"], listed["mrr"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        served["account_clv"], listed["account_clv"], rtol=1e-12, atol=0
    )
    return served


def test_ids_alone_get_the_scored_lists_probabilities(server, trained_project):
    daily = _daily(trained_project)
    ids = daily["account_id"].sample(N_IDS, random_state=3).tolist()
    served = _check_same_as_scored_list(_predict(server, _ids_body(ids)), daily)
    assert served.index.tolist() == ids  # request order


def test_an_override_changes_the_answer_and_is_listed(server, trained_project):
    daily = _daily(trained_project)
    account = daily.sort_values("churn_probability")["account_id"].iloc[0]
    plain = _predict(server, _ids_body([account])).json()["predictions"][0]
    body = {"accounts": [{"account_id": account, "failed_payments_30d": 4.0}]}
    response = _predict(server, body)
    assert response.status_code == 200, response.text
    changed = response.json()["predictions"][0]
    assert changed["overridden"] == ["failed_payments_30d"]
    assert changed["churn_probability"] != plain["churn_probability"]
    assert changed["features_as_of"] == plain["features_as_of"]


def test_unknown_ids_get_404_naming_them_and_nothing_is_scored(server, trained_project):
    known = _daily(trained_project)["account_id"].iloc[0]
    response = _predict(server, _ids_body([known, "NOPE-1", "NOPE-2"]))
    assert response.status_code == 404, response.text
    assert "NOPE-1" in response.text and "NOPE-2" in response.text
    assert known not in response.text


def test_metadata_says_how_fresh_the_store_is(server, trained_project):
    daily = _daily(trained_project)
    store = httpx.get(f"{server}/metadata", timeout=30).json()["online_store"]
    assert store["kind"] == "sqlite"
    assert store["reachable"] is True
    assert store["n_accounts"] == len(daily)
    assert (
        store["as_of_date"]
        == pd.Timestamp(daily["as_of_date"].max()).date().isoformat()
    )


def test_answered_predictions_are_logged(server, trained_project, home):
    daily = _daily(trained_project)
    ids = daily["account_id"].head(3).tolist()
    assert _predict(server, _ids_body(ids)).status_code == 200
    log_dir = home / "prediction_log"
    deadline = time.monotonic() + DEADLINE_S
    while True:  # the log's listener thread writes shortly after the answer
        lines = [
            json.loads(line)
            for path in log_dir.glob("predictions-*.jsonl*")
            for line in path.read_text().splitlines()
        ]
        if {line["account_id"] for line in lines} >= set(ids):
            break
        assert time.monotonic() < deadline, lines[-5:]
        time.sleep(0.5)
    logged = {line["account_id"]: line for line in lines}
    assert logged[ids[0]]["features_as_of"] is not None
    assert logged[ids[0]]["model_version"]


def test_daily_scoring_runs_alone_and_appends_history(trained_project):
    history = trained_project.path / "data/07_model_output/score_history"
    before = sorted(history.rglob("*.parquet"))
    daily = _daily(trained_project)
    day = pd.Timestamp(daily["as_of_date"].max()) - pd.Timedelta(days=3)
    run_kedro(
        trained_project.path,
        "daily_scoring",
        params={"scoring": {"as_of": day.date().isoformat()}},
    )
    after = sorted(history.rglob("*.parquet"))
    assert len(after) == len(before) + 1
    newest = pd.read_parquet(next(p for p in after if p not in before))
    assert set(newest["as_of_date"]) == {day}
    csv = pd.read_csv(trained_project.path / "data/08_reporting/daily_scores.csv")
    assert set(pd.to_datetime(csv["as_of_date"])) == {day}
    # Back to the newest day, so the store and list match the other tests.
    run_kedro(trained_project.path, "daily_scoring")
    assert set(_daily(trained_project)["as_of_date"]) == {daily["as_of_date"].max()}


def _shut_down(url: str) -> None:
    """Stop the Redis server under the running service, as an outage would."""
    host, port = url.split(":")
    client = redis.Redis(host=host, port=int(port), socket_timeout=5)
    # The server closes the connection as it exits.
    with contextlib.suppress(redis.ConnectionError):
        client.shutdown(nosave=True)


def test_redis_store_serves_the_same_answers_and_503_when_down(
    trained_project, tmp_path_factory
):
    daily = _daily(trained_project)
    features = pd.read_parquet(
        trained_project.path / "data/04_feature/current_features.parquet"
    )
    names = [n for n in feature_names() if n in features]
    numeric = [n for n in names if FEATURES_BY_NAME[n].kind == "numeric"]
    categorical = [n for n in names if n not in numeric]
    home = tmp_path_factory.mktemp("bentoml_redis")
    with redis_server() as url:
        settings = OnlineStoreSettings(
            kind="redis", repo_path=str(home / "repo"), redis_connection_string=url
        )
        write_online(settings, features, numeric=numeric, categorical=categorical)
        environment = {
            "CHURN_FEATURE_REPO": str(home / "repo"),
            "CHURN_ONLINE_STORE": "redis",
            "CHURN_REDIS_URL": url,
        }
        with running_server(
            trained_project, home / "server.log", home, **environment
        ) as server:
            ids = daily["account_id"].sample(N_IDS, random_state=5).tolist()
            _check_same_as_scored_list(_predict(server, _ids_body(ids)), daily)
            store = httpx.get(f"{server}/metadata", timeout=30).json()["online_store"]
            assert store["kind"] == "redis" and store["n_accounts"] == len(daily)
            _shut_down(url)
            response = _predict(server, _ids_body(ids[:1]))
            assert response.status_code == 503, response.text
            assert "Redis online store at 127.0.0.1" in response.json()["error"]
            assert httpx.get(f"{server}/readyz", timeout=30).status_code != 200
            # A complete vector needs no store and is still answered.
            row = features[features["account_id"] == ids[0]].iloc[0]
            full = {"account_id": ids[0]} | {
                n: (None if pd.isna(row[n]) else row[n]) for n in names
            }
            assert _predict(server, {"accounts": [full]}).status_code == 200


def test_the_service_follows_the_champion_alias(trained_project, tmp_path_factory):
    client = MlflowClient(trained_project.tracking_uri)
    before = str(client.get_model_version_by_alias("churn-model", "champion").version)
    versions = [
        str(v.version) for v in client.search_model_versions("name='churn-model'")
    ]
    other = next(v for v in versions if v != before)
    home = tmp_path_factory.mktemp("bentoml_follow")
    account = _daily(trained_project)["account_id"].iloc[0]
    # One worker: each worker follows the alias on its own, so with two a request
    # after the switch may still reach the one that has not polled yet.
    with running_server(
        trained_project,
        home / "server.log",
        home,
        CHURN_MODEL_REFRESH_S="1",
        CHURN_WORKERS="1",
    ) as server:
        first = _predict(server, _ids_body([account])).json()
        assert first["model_version"] == before
        client.set_registered_model_alias("churn-model", "champion", other)
        try:
            deadline = time.monotonic() + DEADLINE_S
            while True:
                answer = _predict(server, _ids_body([account]))
                assert answer.status_code == 200, answer.text
                if answer.json()["model_version"] == other:
                    break
                assert time.monotonic() < deadline, "the alias move was not followed"
                time.sleep(0.5)
            assert answer.json()["predictions"][0]["model_version"] == other
            metadata = httpx.get(f"{server}/metadata", timeout=30).json()
            assert metadata["model_version"] == other
        finally:
            client.set_registered_model_alias("churn-model", "champion", before)
