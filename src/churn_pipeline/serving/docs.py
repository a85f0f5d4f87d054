"""The API docs page and its OpenAPI document: about the model, and offline.

What BentoML 1.4 serves on its own falls short of that:

* ``GET /`` loads Google Tag Manager from the internet, and ``GET /docs`` (the
  mounted FastAPI app's) loads Swagger UI from a CDN, so it stays blank without
  internet access. :func:`docs_page` is Swagger UI from the copy BentoML ships
  and serves at ``/static_content`` (``bentoml/_internal/server/static_content``),
  so the page needs nothing but this server.
* ``GET /docs.json`` is titled with the service class's name, described by
  BentoML's own README (badges from image hosts, links to its Slack) with its
  team as the contact; BentoML has no Python API to set these
  (bentoml/BentoML#2975). :func:`api_document` rewrites them to name the model
  served.
* pydantic writes a field's examples as the JSON Schema ``examples`` list,
  which Swagger UI ignores in an OpenAPI 3.0 document; it then made example
  values up from the bounds (1e12 for every number). :func:`api_document` adds
  the OpenAPI 3.0 ``example`` of each field (the registry's), and the real
  example request as the body of ``POST /predict``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from churn_pipeline.features.consistency import Rule

# Relative: the page and its assets stay together behind a path prefix.
ASSETS = "./static_content"
DOCUMENT_URL = "./docs.json"
PREDICT_ROUTE = "/predict"
# Operation groups: BentoML's two, and the model's metadata (serving/service.py).
_TAGS = {
    "Service APIs": "Scoring accounts.",
    "Model": "The model served, its features, and the online store's freshness.",
    "Infrastructure": "Probes and Prometheus metrics.",
}


def api_title(model_name: str, model_version: str) -> str:
    """The title of the docs page and of the OpenAPI document."""
    return f"Churn risk API: {model_name} version {model_version}"


def docs_page(title: str) -> HTMLResponse:
    """Swagger UI for ``./docs.json`` from BentoML's bundled copy, no CDN.

    ``validatorUrl`` is off: Swagger UI would otherwise send the document to
    validator.swagger.io for a badge.
    """
    return get_swagger_ui_html(
        openapi_url=DOCUMENT_URL,
        title=title,
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon-light-32x32.png",
        swagger_ui_parameters={"validatorUrl": None, "tryItOutEnabled": True},
    )


def _description(model_name: str, model_version: str, model_uri: str) -> str:
    return (
        "Churn probability, health score (0-100), risk band, the reasons behind "
        "them and the playbook's next action for customer accounts, scored by "
        f"the model **{model_name}** version **{model_version}** "
        f"(`{model_uri}`).\n\n"
        "`POST /predict` takes accounts by id (features from the online store), "
        "an id with feature values that override the stored ones, or complete "
        "feature vectors. `GET /metadata` lists the features with their "
        "definitions and units, the training window and the headline metrics. "
        "The example body holds two real accounts of the seeded demo business "
        "(docs/serving.md)."
    )


def _rules_text(rules: Iterable[Rule]) -> str:
    listed = "\n".join(f"* {rule.describe()}" for rule in rules)
    if not listed:
        return ""
    return (
        "\n\nFeature values a request sends must agree with each other as the "
        "feature code builds them; a request breaking one of these rules is "
        "refused with 400 naming the fields and their values:\n\n" + listed
    )


def _add_examples(node: Any) -> None:
    """Give every schema with an ``examples`` list its first as ``example``."""
    if isinstance(node, dict):
        examples = node.get("examples")
        if isinstance(examples, list) and examples and "example" not in node:
            node["example"] = examples[0]
        for value in node.values():
            _add_examples(value)
    elif isinstance(node, list):
        for value in node:
            _add_examples(value)


def api_document(
    spec: Mapping[str, Any],
    *,
    model_name: str,
    model_version: str,
    model_uri: str,
    example: Mapping[str, Any],
    rules: Iterable[Rule] = (),
) -> dict[str, Any]:
    """BentoML's OpenAPI document, about the model served.

    Args:
        spec: The document BentoML generates (``Service.openapi_spec.asdict()``).
        model_name: Registered model name.
        model_version: Registered version serving.
        model_uri: The MLflow model URI served.
        example: The example body of ``POST /predict``.
        rules: The consistency rules ``POST /predict`` enforces, listed in its
            description.

    Returns:
        A new document: title, description and version name the model, no
        BentoML contact, tags described, fields with examples.
    """
    document = copy.deepcopy(dict(spec))
    document["info"] = {
        "title": api_title(model_name, model_version),
        "version": str(model_version),
        "description": _description(model_name, model_version, model_uri),
    }
    tags = {tag["name"]: tag.get("description", "") for tag in document.get("tags", [])}
    document["tags"] = [
        {"name": name, "description": description}
        for name, description in {**tags, **_TAGS}.items()
    ]
    _add_examples(document.get("components", {}))
    predict = document.get("paths", {}).get(PREDICT_ROUTE, {}).get("post")
    if predict is not None:
        predict["description"] = predict.get("description", "") + _rules_text(rules)
        body = predict.get("requestBody", {}).get("content", {})
        if "application/json" in body:
            body["application/json"]["example"] = copy.deepcopy(dict(example))
    return document
