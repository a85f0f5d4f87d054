"""The guards against hostile callers, as plain ASGI apps (serving.hardening)."""

from __future__ import annotations

import asyncio
import json
import os
from types import SimpleNamespace
from typing import Annotated

import bentoml
import pytest
import uvicorn.config
from _bentoml_impl.server.mount import PassiveMount
from _bentoml_sdk.io_models import IODescriptor
from fastapi import APIRouter, FastAPI
from pydantic import Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from churn_pipeline.serving import edge
from churn_pipeline.serving.hardening import (
    UNKNOWN_PATH,
    JSONBodyMiddleware,
    RelativeRedirectMiddleware,
    RouteTable,
    UnknownPathMiddleware,
    forbid_extra_inputs,
    harden,
    relative_location,
)


async def _ok(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": scope["path"].encode()})


def _call(app, path="/", method="GET", headers=(), kind="http"):
    """Send one request through ``app``; the response's status, headers, body."""
    sent, received = [], []

    async def receive():
        if received:  # the body was read: wait for a disconnect that never comes
            await asyncio.Event().wait()
        received.append(True)
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": kind,
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "scheme": "http",
        "server": ("127.0.0.1", 3000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"].endswith("body"))
    return start["status"], dict(start["headers"]), body


def _text(text: str):
    async def endpoint(request: Request) -> PlainTextResponse:
        return PlainTextResponse(text)

    return endpoint


@pytest.fixture
def app(tmp_path) -> Starlette:
    """BentoML's shape of app: routes, static files, a FastAPI app at the root."""
    (tmp_path / "css").mkdir()
    (tmp_path / "css/site.css").write_text("body {}")
    (tmp_path / "index.js").write_text("")
    included = APIRouter()
    included.add_api_route("/included", _text("included"))
    metadata = FastAPI()
    metadata.add_api_route("/metadata", _text("metadata"))
    metadata.include_router(included)
    return Starlette(
        routes=[
            Route("/livez", _text("live")),
            Route("/predict", _text("scored"), methods=["POST"]),
            Route("/items/{number:int}", _text("item")),
            Mount("/static", StaticFiles(directory=tmp_path)),
            PassiveMount("/", metadata),
        ]
    )


@pytest.mark.parametrize(
    ("path", "served"),
    [
        ("/livez", True),
        ("/predict", True),  # for POST; GET is answered 405
        ("/items/12", True),
        ("/static/css/site.css", True),
        ("/static/index.js", True),
        ("/metadata", True),
        ("/included", True),
        ("/", False),
        ("/predict/", False),
        ("/metadata/", False),
        ("/items/twelve", False),
        ("/static/missing.css", False),
        ("/static/../index.js", False),
        ("/wp-admin/x", False),
        (UNKNOWN_PATH, False),
    ],
)
def test_route_table_tells_served_paths_like_the_router(app, path, served):
    routes = RouteTable(app.routes)
    status, _, _ = _call(app, path)

    assert routes.serves({"type": "http", "method": "GET", "path": path}) is served
    # The bare router answers 404, or redirects "/predict/" to "/predict".
    assert (status in {200, 405}) is served


def test_route_table_remembers_a_bounded_number_of_served_paths(app):
    routes = RouteTable(app.routes, max_remembered=2)
    for number in range(5):
        assert routes.serves(
            {"type": "http", "method": "GET", "path": f"/items/{number}"}
        )
    assert routes._served == {"/items/0", "/items/1"}


@pytest.mark.parametrize("path", ["/x", "/predict/", "/metadata/", "/a/b?c"])
def test_unknown_paths_reach_the_app_under_one_name(app, path):
    seen = []

    async def recorder(scope, receive, send):
        seen.append((scope["path"], scope["raw_path"]))
        await app(scope, receive, send)

    guarded = UnknownPathMiddleware(recorder, routes=RouteTable(app.routes))
    status, headers, _ = _call(guarded, path, headers=[("Host", "evil.example")])

    assert seen == [(UNKNOWN_PATH, UNKNOWN_PATH.encode())]
    assert status == 404  # not the router's trailing-slash redirect
    assert b"location" not in headers


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [("/livez", "GET", 200), ("/predict", "POST", 200), ("/predict", "GET", 405)],
)
def test_known_paths_pass_unchanged(app, path, method, status):
    seen = []

    async def recorder(scope, receive, send):
        seen.append(scope["path"])
        await app(scope, receive, send)

    guarded = UnknownPathMiddleware(recorder, routes=RouteTable(app.routes))

    assert _call(guarded, path, method)[0] == status
    assert seen == [path]


def test_non_http_scopes_pass_the_path_guard(app):
    seen = []

    async def recorder(scope, receive, send):
        seen.append(scope["path"])
        await _ok(scope, receive, send)

    guarded = UnknownPathMiddleware(recorder, routes=RouteTable(app.routes))
    _call(guarded, "/nowhere", kind="websocket")
    assert seen == ["/nowhere"]


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        (None, 200),
        ("application/json", 200),
        ("application/json; charset=utf-8", 200),
        ("Application/JSON", 200),
        ("multipart/form-data; boundary=x", 415),
        ("application/x-www-form-urlencoded", 415),
        ("text/plain", 415),
        ("application/xml", 415),
        ("application/vnd.bentoml+pickle", 415),
        ("", 415),
    ],
)
def test_api_routes_take_json_bodies_only(content_type, status):
    middleware = JSONBodyMiddleware(_ok, paths=["/predict"])
    headers = [] if content_type is None else [("Content-Type", content_type)]

    answer, response_headers, body = _call(middleware, "/predict", "POST", headers)

    assert answer == status
    if status == 415:
        assert "application/json" in json.loads(body)["detail"]
        assert response_headers[b"accept-post"] == b"application/json"


def test_every_declared_content_type_must_be_json():
    middleware = JSONBodyMiddleware(_ok, paths=["/predict"])
    headers = [
        ("Content-Type", "multipart/form-data"),
        ("Content-Type", "application/json"),
    ]
    assert _call(middleware, "/predict", "POST", headers)[0] == 415


@pytest.mark.parametrize(("path", "method"), [("/predict", "GET"), ("/other", "POST")])
def test_other_routes_and_methods_pass_the_json_check(path, method):
    middleware = JSONBodyMiddleware(_ok, paths=["/predict"])
    headers = [("Content-Type", "multipart/form-data")]
    assert _call(middleware, path, method, headers)[0] == 200


@pytest.mark.parametrize(
    ("location", "relative"),
    [
        ("http://evil.example/metadata", "/metadata"),
        ("https://evil.example:8443/a/b?c=1#d", "/a/b?c=1#d"),
        ("//evil.example/x", "/x"),
        ("http://evil.example", "/"),
        ("/metadata", "/metadata"),
        ("metadata?x=1", "metadata?x=1"),
        ("http://host//evil.example/x", "/evil.example/x"),
        ("/\\evil.example/x", "/evil.example/x"),
        ("///evil.example", "/evil.example"),
    ],
)
def test_relative_location(location, relative):
    assert relative_location(location) == relative


def test_redirects_never_carry_the_callers_host(app):
    async def redirect(scope, receive, send):
        headers = [(b"location", b"http://evil.example/metadata"), (b"x-other", b"1")]
        await send({"type": "http.response.start", "status": 307, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    status, headers, _ = _call(RelativeRedirectMiddleware(redirect), "/metadata/")
    assert (status, headers[b"location"], headers[b"x-other"]) == (
        307,
        b"/metadata",
        b"1",
    )
    # Starlette's own trailing-slash redirect, built from the Host header:
    guarded = RelativeRedirectMiddleware(app)
    status, headers, _ = _call(guarded, "/livez/", headers=[("Host", "evil.example")])
    assert (status, headers[b"location"]) == (307, b"/livez")


def _predict(self, accounts: Annotated[list[int], Field(min_length=1)]) -> int:
    return len(accounts)


def test_extra_top_level_keys_become_a_validation_error_naming_them():
    method = SimpleNamespace(
        input_spec=IODescriptor.from_input(_predict, skip_self=True)
    )
    forbid_extra_inputs(method)
    spec = method.input_spec

    assert spec.model_validate({"accounts": [1, 2]}).accounts == [1, 2]
    with pytest.raises(ValidationError) as raised:
        spec.model_validate_json(b'{"accounts": [1], "acounts": [2]}')
    assert [(e["type"], e["loc"]) for e in raised.value.errors()] == [
        ("extra_forbidden", ("acounts",))
    ]
    assert raised.value.title == "Input"  # BentoML's name, in its 400 answers
    assert spec.model_json_schema()["additionalProperties"] is False


@pytest.fixture
def restored_edge():
    """Undo what :func:`harden` installs process-wide."""
    saved = edge._settings, uvicorn.config.HTTP_PROTOCOLS["auto"]
    yield
    edge._settings, uvicorn.config.HTTP_PROTOCOLS["auto"] = saved
    edge._outer_apps.clear()


@bentoml.service
class _Echo:
    @bentoml.api(route="/echo")
    def echo(self, text: str) -> str:
        return text


@pytest.mark.usefixtures("restored_edge")
def test_harden_applies_every_guard():
    before = list(_Echo.middlewares)
    harden(_Echo, {"CHURN_HEADER_TIMEOUT_S": "7"})

    added = _Echo.middlewares[len(before) :]
    assert [cls for cls, _ in added] == [JSONBodyMiddleware, RelativeRedirectMiddleware]
    assert added[0][1] == {"paths": ["/echo"]}
    assert edge._settings.header_timeout_s == 7
    assert (
        uvicorn.config.HTTP_PROTOCOLS["auto"]
        == "churn_pipeline.serving.edge:EdgeProtocol"
    )
    with pytest.raises(ValidationError, match="extra_forbidden"):
        _Echo.apis["echo"].input_spec.model_validate({"text": "a", "other": 1})


@pytest.mark.usefixtures("restored_edge")
@pytest.mark.parametrize("value", ["0", "soon", "1.5"])
def test_harden_refuses_a_bad_header_timeout_naming_the_variable(value):
    with pytest.raises(ValueError, match="CHURN_HEADER_TIMEOUT_S must be a whole"):
        harden(_Echo, {**os.environ, "CHURN_HEADER_TIMEOUT_S": value})
