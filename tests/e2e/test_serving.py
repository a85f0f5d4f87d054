"""The real BentoML server, started on 127.0.0.1, serving the trained champion."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

import httpx
import numpy as np
import pandas as pd
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from mlflow.tracking import MlflowClient
from playwright.sync_api import sync_playwright
from schemathesis import GenerationMode
from tests.browser import _ARGS, CHROMIUM
from tests.e2e.servers import PROJECT_ROOT, running_server

from churn_pipeline.features import FEATURES_BY_NAME, feature_names
from churn_pipeline.serving.metadata import example_request
from churn_pipeline.serving.schema import VALUE_LIMIT

pytestmark = [pytest.mark.e2e, pytest.mark.serving]


@pytest.fixture(scope="module")
def server(trained_project, tmp_path_factory) -> Iterator[str]:
    logs = tmp_path_factory.mktemp("bentoml")
    home = tmp_path_factory.mktemp("bentoml_home")
    with running_server(trained_project, logs / "server.log", home) as url:
        yield url


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
    assert body["model_version"] == served_version(trained_project)
    # Whole numbers in the answer, rounded half to even from the scored list's.
    assert served["health_score"].tolist() == [
        round(h) for h in batch["health_score"].tolist()
    ]
    for column in ("top_reasons", "risk_lowering_reasons", "triggers"):
        assert served[column].tolist() == batch[column].map(list).tolist(), column
    for column in ("recommended_action", "owner_role"):
        assert served[column].tolist() == batch[column].tolist(), column


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


def test_contradicting_feature_values_get_400_naming_both(server):
    body = example_request()
    body["accounts"][1].update(logins_14d=40.0, logins_30d=6.0)

    response = httpx.post(f"{server}/predict", json=body, timeout=60)

    assert response.status_code == 400, response.text
    [error] = response.json()["detail"]
    assert error["type"] == "inconsistent_features"
    assert error["loc"] == ["accounts", 1]
    assert "logins_14d (40) must not exceed logins_30d (6)" in error["msg"]


def test_missing_field_of_an_unknown_account_gets_404_and_empty_list_400(server):
    body = example_request()
    body["accounts"][0]["account_id"] = "NOT-IN-THE-STORE"
    del body["accounts"][0]["mrr"]
    response = httpx.post(f"{server}/predict", json=body, timeout=60)
    # Without every feature the store must fill the rest, and it has no such id.
    assert response.status_code == 404
    assert "NOT-IN-THE-STORE" in response.text
    empty = httpx.post(f"{server}/predict", json={"accounts": []}, timeout=60)
    assert empty.status_code == 400


def served_version(project) -> str:
    client = MlflowClient(project.tracking_uri)
    return str(client.get_model_version_by_alias("churn-model", "champion").version)


def test_metadata_names_the_model_its_data_and_schema(server, trained_project):
    response = httpx.get(f"{server}/metadata", timeout=30)

    assert response.status_code == 200, response.text
    metadata = response.json()
    assert metadata["model_name"] == "churn-model"
    assert metadata["alias"] == "champion"
    assert metadata["model_version"] == served_version(trained_project)
    model = pd.read_pickle(trained_project.path / "data/06_models/churn_model.pkl")
    assert [f["name"] for f in metadata["features"]] == list(model.feature_names_in_)
    described = {f["name"]: f["description"] for f in metadata["features"]}
    assert described["days_since_last_login"].startswith("Days since the last")
    assert metadata["training_window"]["calibration"] == model.periods_["calibration"]
    assert {"test_roc_auc", "backtest_empc_mean"} <= set(metadata["metrics"])


def test_probes_tell_process_up_from_model_ready(server):
    assert httpx.get(f"{server}/livez", timeout=10).status_code == 200
    assert httpx.get(f"{server}/readyz", timeout=10).status_code == 200
    paths = httpx.get(f"{server}/docs.json", timeout=10).json()["paths"]
    assert {"/predict", "/metadata", "/livez", "/readyz"} <= set(paths)


def test_api_key_is_required_when_configured(trained_project, tmp_path):
    body = example_request()
    with running_server(
        trained_project,
        tmp_path / "server.log",
        tmp_path / "home",
        CHURN_API_KEY="s3cret-key",
    ) as url:
        anonymous = httpx.post(f"{url}/predict", json=body, timeout=60)
        wrong = httpx.post(
            f"{url}/predict", json=body, headers={"X-API-Key": "guess"}, timeout=60
        )
        bearer = httpx.post(
            f"{url}/predict",
            json=body,
            headers={"Authorization": "Bearer s3cret-key"},
            timeout=60,
        )
        header = httpx.get(
            f"{url}/metadata", headers={"X-API-Key": "s3cret-key"}, timeout=30
        )
        metadata = httpx.get(f"{url}/metadata", timeout=30)
        probes = [httpx.get(f"{url}/{p}", timeout=10) for p in ("livez", "readyz")]

    assert anonymous.status_code == 401
    assert "API key" in anonymous.json()["detail"]
    assert wrong.status_code == 401
    assert metadata.status_code == 401
    assert bearer.status_code == 200, bearer.text
    assert header.status_code == 200
    assert [p.status_code for p in probes] == [200, 200]


def _example_with(**changes) -> dict:
    body = example_request()
    body["accounts"][0].update(changes)
    return body


@pytest.mark.parametrize(
    ("content", "status", "says"),
    [
        (b'{"accounts": [', 400, "Invalid JSON"),
        (b"accounts", 400, "Invalid JSON"),
        (b'{"accounts": 3}', 400, "accounts"),
        (b"{}", 400, "accounts"),
        (json.dumps(_example_with(logins_30d=float("nan"))).encode(), 400, "finite"),
        (json.dumps(_example_with(mrr=float("inf"))).encode(), 400, "finite"),
        (json.dumps(_example_with(plan=7)).encode(), 400, "plan"),
        (
            json.dumps({"accounts": example_request()["accounts"][:1] * 1001}).encode(),
            400,
            "at most 1000",
        ),
        (b'{"accounts": [], "pad": "' + b"x" * (5 * 1024 * 1024) + b'"}', 413, "limit"),
    ],
    ids=[
        "truncated",
        "not-json",
        "not-a-list",
        "no-accounts",
        "nan",
        "infinity",
        "number-for-text",
        "over-max-batch",
        "over-body-limit",
    ],
)
def test_bad_requests_get_4xx_saying_what_is_wrong(server, content, status, says):
    response = httpx.post(
        f"{server}/predict",
        content=content,
        headers={"content-type": "application/json"},
        timeout=60,
    )

    assert response.status_code == status, response.text[:500]
    assert says in response.text


# Where a page points: src/href attributes and Swagger UI's document URL.
REFERENCE = re.compile(r'(?:src|href)="([^"]+)"|url: \'([^\']+)\'')


@pytest.mark.parametrize("path", ["/", "/docs"])
def test_docs_page_and_everything_it_loads_come_from_this_server(server, path):
    page = httpx.get(f"{server}{path}", timeout=30)
    assert page.status_code == 200, page.text[:500]
    assert page.headers["content-type"].startswith("text/html")
    assert not re.search(r"(?:https?:)?//", page.text), page.text

    referenced = [a or b for a, b in REFERENCE.findall(page.text)]

    assert any(r.endswith("swagger-ui-bundle.js") for r in referenced), referenced
    assert any(r.endswith("docs.json") for r in referenced), referenced
    for reference in referenced:
        url = urljoin(f"{server}{path}", reference)
        assert urlsplit(url).hostname == "127.0.0.1", url
        response = httpx.get(url, timeout=30)
        assert response.status_code == 200 and response.content, url


def test_api_document_names_the_model_and_shows_real_examples(server, trained_project):
    version = served_version(trained_project)

    document = httpx.get(f"{server}/docs.json", timeout=30).json()

    info = document["info"]
    assert "churn-model" in info["title"] and version in info["title"]
    assert f"**churn-model** version **{version}**" in info["description"]
    assert "contact" not in info and "BentoML" not in json.dumps(info)
    properties = document["components"]["schemas"]["AccountRequest"]["properties"]
    features = [name for name in properties if name != "account_id"]
    assert features and set(features) <= set(FEATURES_BY_NAME)
    assert {name: properties[name]["example"] for name in features} == {
        name: FEATURES_BY_NAME[name].example for name in features
    }
    assert VALUE_LIMIT not in {properties[name]["example"] for name in features}
    predict = document["paths"]["/predict"]["post"]
    assert "logins_14d must not exceed logins_30d" in predict["description"]
    body = predict["requestBody"]["content"]["application/json"]["example"]
    sent = json.loads((PROJECT_ROOT / "serving/example_request.json").read_text())
    assert body == {
        "accounts": [
            {name: a.get(name) for name in ["account_id", *features]}
            for a in sent["accounts"]
        ]
    }
    answered = httpx.post(f"{server}/predict", json=body, timeout=60)
    assert answered.status_code == 200, answered.text


def test_docs_page_renders_and_answers_with_no_other_host(server, trained_project):
    """Chromium, refused every request to another host, runs the example.

    It opens /docs, shows the model's title, fills the real example body in and
    gets its 200 answer.
    """
    outside: list[str] = []

    def only_this_server(route) -> None:
        url = route.request.url
        if urlsplit(url).scheme in {"http", "https", "ws", "wss"} and (
            urlsplit(url).hostname != "127.0.0.1"
        ):
            outside.append(url)
            route.abort()
        else:
            route.continue_()

    predict = "#operations-Service_APIs-ChurnService__predict"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=_ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", only_this_server)
            page.goto(f"{server}/docs", wait_until="networkidle")
            title = page.locator(".swagger-ui .info .title").inner_text(timeout=60_000)
            page.locator(f"{predict} .opblock-summary").click()
            example = page.locator(f"{predict} textarea").input_value(timeout=60_000)
            page.locator(f"{predict} button.execute").click()
            # The answer's row (the table's header cell has the same class).
            status = page.locator(
                f"{predict} .live-responses-table .response .response-col_status"
            )
            answered = status.first.inner_text(timeout=60_000)
        finally:
            browser.close()

    assert outside == []
    assert f"churn-model version {served_version(trained_project)}" in title
    sent = json.loads((PROJECT_ROOT / "serving/example_request.json").read_text())
    for account in sent["accounts"]:
        assert account["account_id"] in example
    assert answered.strip() == "200"


FUZZ_EXAMPLES = 40


def _fuzz(operation, mode: GenerationMode, server: str) -> list[int]:
    """Call ``operation`` with generated cases; return the status codes seen."""
    statuses: list[int] = []

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case) -> None:
        response = case.call(base_url=server, timeout=60)
        statuses.append(response.status_code)
        assert response.status_code < 500, (case.body, response.text[:500])
        # BentoML's document marks the request body optional, so a "valid" case
        # may send none; with a body, a valid request must be answered.
        # An account sent without every feature is looked up by id: a made-up
        # id is answered 404, naming it. The document cannot express the rules
        # between fields (listed in its description): values that break one
        # get 400 of that type and no other.
        if mode is GenerationMode.POSITIVE and isinstance(case.body, dict):
            if response.status_code == 404:
                assert "not in the online feature store" in response.text
            elif response.status_code == 400:
                types = {e["type"] for e in response.json()["detail"]}
                assert types == {"inconsistent_features"}, response.text[:500]
            else:
                assert response.status_code == 200, (case.body, response.text[:500])

    call()
    return statuses


def test_fuzzed_requests_never_get_a_server_error(server):
    """Schemathesis against the service's own OpenAPI document: requests that
    follow it are answered 200, requests that break it 4xx, never 5xx."""
    schema = schemathesis.openapi.from_url(f"{server}/docs.json")
    predict, metadata = schema["/predict"]["POST"], schema["/metadata"]["GET"]
    # GET /metadata takes no input, so there is nothing to break (no negative).
    runs = [
        (predict, GenerationMode.POSITIVE),
        (predict, GenerationMode.NEGATIVE),
        (metadata, GenerationMode.POSITIVE),
    ]
    seen = {
        f"{operation.label} {mode.value}": _fuzz(operation, mode, server)
        for operation, mode in runs
    }

    assert all(seen.values()), seen
    negative = seen["POST /predict negative"]
    assert any(400 <= status < 500 for status in negative), negative
