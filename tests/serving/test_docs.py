"""The docs page and OpenAPI document: about the model, assets on this server."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
from bentoml._internal import server as bentoml_server

from churn_pipeline.features.consistency import RULES
from churn_pipeline.serving.docs import ASSETS, api_document, api_title, docs_page

BENTOML_ASSETS = Path(bentoml_server.__file__).parent / "static_content"
REFERENCE = re.compile(r'(?:src|href)="([^"]+)"|url: \'([^\']+)\'')

SPEC = {
    "openapi": "3.0.2",
    "info": {
        "title": "ChurnService",
        "version": "None",
        "description": "# ChurnService:dev\n[![pypi_status](https://img.shields.io/x)]",
        "contact": {"name": "BentoML Team", "email": "contact@bentoml.com"},
    },
    "tags": [
        {"name": "Service APIs", "description": "BentoML Service API endpoints."},
        {"name": "Infrastructure", "description": "Common infrastructure."},
    ],
    "components": {
        "schemas": {
            "AccountRequest": {
                "properties": {
                    "tenure_days": {
                        "anyOf": [
                            {"type": "number", "maximum": 1e12},
                            {"type": "null"},
                        ],
                        "examples": [120.0],
                    },
                    "plan": {"type": "string", "examples": ["pro"]},
                    "seats": {"type": "number", "examples": [10.0], "example": 3.0},
                }
            }
        }
    },
    "paths": {
        "/predict": {
            "post": {
                "description": "Score accounts.",
                "requestBody": {"content": {"application/json": {"schema": {}}}},
            }
        },
        "/livez": {"get": {"description": "Liveness."}},
    },
}
EXAMPLE = {"accounts": [{"account_id": "A000129", "tenure_days": 932.0}]}


@pytest.fixture
def document() -> dict:
    return api_document(
        SPEC,
        model_name="churn-model",
        model_version="7",
        model_uri="models:/churn-model@champion",
        example=EXAMPLE,
        rules=RULES[:2],
    )


def test_the_document_is_about_the_model_not_bentoml(document):
    info = document["info"]

    assert info["title"] == api_title("churn-model", "7")
    assert info["version"] == "7"
    assert "**churn-model** version **7**" in info["description"]
    assert "models:/churn-model@champion" in info["description"]
    assert "contact" not in info
    assert "BentoML" not in str(info) and "http" not in str(info)
    assert [t["name"] for t in document["tags"]] == [
        "Service APIs",
        "Infrastructure",
        "Model",
    ]
    assert not any("BentoML" in t["description"] for t in document["tags"])


def test_fields_get_their_examples_in_the_openapi_3_0_keyword(document):
    properties = document["components"]["schemas"]["AccountRequest"]["properties"]

    assert properties["tenure_days"]["example"] == 120.0
    assert properties["plan"]["example"] == "pro"
    assert properties["seats"]["example"] == 3.0  # an explicit one is kept


def test_predict_shows_the_example_body_and_the_rules(document):
    predict = document["paths"]["/predict"]["post"]

    assert predict["requestBody"]["content"]["application/json"]["example"] == EXAMPLE
    assert predict["description"].startswith("Score accounts.")
    for rule in RULES[:2]:
        assert f"* {rule.describe()}" in predict["description"]


def test_the_generated_document_is_left_as_it_was():
    before = copy.deepcopy(SPEC)

    api_document(
        SPEC, model_name="m", model_version="1", model_uri="u", example=EXAMPLE
    )

    assert before == SPEC


def test_the_page_loads_everything_from_this_server():
    page = docs_page("Churn risk API: churn-model version 7").body.decode()

    referenced = {a or b for a, b in REFERENCE.findall(page)}

    assert "<title>Churn risk API: churn-model version 7</title>" in page
    assert not re.search(r"(?:https?:)?//", page), page
    assert referenced == {
        f"{ASSETS}/swagger-ui.css",
        f"{ASSETS}/swagger-ui-bundle.js",
        f"{ASSETS}/favicon-light-32x32.png",
        "./docs.json",
    }
    # No badge from validator.swagger.io.
    assert '"validatorUrl": null' in page


def test_bentoml_ships_every_asset_the_page_references():
    page = docs_page("t").body.decode()

    for reference in REFERENCE.findall(page):
        path = reference[0] or reference[1]
        if path.startswith(f"{ASSETS}/"):
            asset = BENTOML_ASSETS / path.removeprefix(f"{ASSETS}/")
            assert asset.is_file() and asset.stat().st_size > 0, asset
