"""What a hostile caller must not be able to do to the service, and the guards.

* Grow ``/metrics`` without bound: BentoML's ``RunnerTrafficMetricsMiddleware``
  (bentoml/_internal/server/http/instruments.py) labels every request with its
  raw ``scope["path"]``, so each made-up path adds time series to every worker
  for good. :class:`UnknownPathMiddleware` renames a path no route serves to
  ``/__unknown__`` before that middleware sees it (all of them get one label;
  the router still answers 404). BentoML runs middlewares added with
  ``add_asgi_middleware`` *inside* its metrics middleware, so this one is put in
  front of BentoML's whole app by src/churn_pipeline/serving/edge.py.
* Get a 500 for a body that is not JSON: BentoML picks the parser by the
  ``Content-Type`` (``_bentoml_impl.serde.ALL_SERDE``), and a malformed
  multipart body fails outside validation. :class:`JSONBodyMiddleware` answers
  415 to anything but JSON on the API routes.
* Redirect to a host of its choice: Starlette builds the ``Location`` of its
  trailing-slash redirects from the ``Host`` header.
  :class:`RelativeRedirectMiddleware` makes every ``Location`` relative.
* Send unknown top-level keys: BentoML builds the input model of an API from
  its signature (``_bentoml_sdk.io_models.IODescriptor.from_input``) and ignores
  extra keys; :func:`forbid_extra_inputs` makes them a 400 naming the key.

:func:`harden` applies all of them, the quiet validation log
(``quiet_errors``) and the request-head timeout (``edge``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ConfigDict
from starlette.routing import BaseRoute, Match, Mount
from starlette.staticfiles import StaticFiles

from churn_pipeline.serving.auth import ASGIApp, Message, Receive, Scope, Send
from churn_pipeline.serving.edge import install_edge
from churn_pipeline.serving.quiet_errors import quiet_validation_errors
from churn_pipeline.serving.runtime import header_timeout_s

logger = logging.getLogger(__name__)
UNKNOWN_PATH = "/__unknown__"
JSON_MEDIA_TYPE = "application/json"


class RouteTable:
    """Tells the paths an app's routes serve from the rest, as its router does.

    A path is served if a route matches it (even for another method only),
    except under a mounted ``StaticFiles``, which serves exactly the files it
    holds when the table is made. Paths found served are remembered (up to
    ``max_remembered``), so the usual ones cost one set lookup.
    """

    def __init__(
        self, routes: Iterable[BaseRoute], *, max_remembered: int = 4096
    ) -> None:
        self.routes = tuple(routes)
        self.max_remembered = max_remembered
        self._static_files = {
            id(route): _static_paths(route.app, route.path)
            for route in self.routes
            if isinstance(route, Mount) and isinstance(route.app, StaticFiles)
        }
        self._served: set[str] = set()

    def serves(self, scope: Scope) -> bool:
        """Whether a route serves the path of the HTTP request ``scope``."""
        path = scope["path"]
        if path in self._served:
            return True
        for route in self.routes:
            if route.matches(scope)[0] is Match.NONE:
                continue
            files = self._static_files.get(id(route))
            served = files is None or path in files
            break
        else:
            served = False
        if served and len(self._served) < self.max_remembered:
            self._served.add(path)
        return served


def _static_paths(files: StaticFiles, mount_path: str) -> frozenset[str]:
    """The request paths of the files ``files`` serves under ``mount_path``."""
    return frozenset(
        f"{mount_path}/{path.relative_to(directory).as_posix()}"
        for directory in map(Path, files.all_directories)
        for path in directory.rglob("*")
        if path.is_file()
    )


class UnknownPathMiddleware:
    """Rename paths no route serves to ``/__unknown__`` for everything behind."""

    def __init__(self, app: ASGIApp, *, routes: RouteTable) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass known paths on unchanged, unknown ones under one name."""
        if scope["type"] == "http" and not self.routes.serves(scope):
            scope = {**scope, "path": UNKNOWN_PATH, "raw_path": UNKNOWN_PATH.encode()}
        await self.app(scope, receive, send)


async def _send_json(send: Send, status: int, detail: str, headers: list) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *headers],
        }
    )
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.body", "body": body})


class JSONBodyMiddleware:
    """Answer 415 to a POST to ``paths`` whose body is declared as not JSON.

    No ``Content-Type`` at all is taken as JSON, as BentoML does; every
    ``Content-Type`` given must say JSON.
    """

    def __init__(self, app: ASGIApp, *, paths: Iterable[str]) -> None:
        self.app = app
        self.paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared media type of API calls."""
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] not in self.paths
        ):
            await self.app(scope, receive, send)
            return
        declared = [
            value.decode("latin-1").split(";")[0].strip().lower()
            for name, value in scope.get("headers", [])
            if name.lower() == b"content-type"
        ]
        if all(media_type == JSON_MEDIA_TYPE for media_type in declared):
            await self.app(scope, receive, send)
            return
        detail = (
            f"{scope['path']} takes a JSON body: send Content-Type: application/json"
        )
        await _send_json(
            send, 415, detail, [(b"accept-post", JSON_MEDIA_TYPE.encode())]
        )


def relative_location(location: str) -> str:
    """``location`` without its scheme and host: a redirect to the same server.

    Its path starts with exactly one slash: browsers take ``//host`` (and a
    backslash in place of either slash) for another host.
    """
    parts = urlsplit(location)
    if not (parts.scheme or parts.netloc or location.startswith(("/", "\\"))):
        return location
    relative = "/" + parts.path.lstrip("/\\")
    if parts.query:
        relative += f"?{parts.query}"
    if parts.fragment:
        relative += f"#{parts.fragment}"
    return relative


class RelativeRedirectMiddleware:
    """Make the ``Location`` of every response relative.

    The service only ever redirects to itself, and an absolute ``Location`` is
    built from the caller's ``Host`` header.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Rewrite ``Location`` headers of the responses."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_relative(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, _relative_header(name, value))
                    for name, value in message.get("headers", [])
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_relative)


def _relative_header(name: bytes, value: bytes) -> bytes:
    if name.lower() != b"location":
        return value
    return relative_location(value.decode("latin-1")).encode("latin-1")


def forbid_extra_inputs(method: Any) -> None:
    """Make keys the API ``method`` does not take a validation error (400).

    Replaces the input model BentoML derived from the method's signature by a
    subclass of it, with the same name, that forbids extra keys. Methods that
    take their whole body as one value (a root model) are left alone.
    """
    spec = method.input_spec
    if getattr(spec, "__root_input__", False) or spec.model_config.get("extra"):
        return
    namespace = {
        "__module__": spec.__module__,
        "__qualname__": spec.__qualname__,
        "__doc__": spec.__doc__,
        "model_config": ConfigDict(extra="forbid"),
    }
    method.input_spec = type(spec)(spec.__name__, (spec,), namespace)


def _guard_paths(app: ASGIApp, served: Any) -> ASGIApp:
    """``app`` behind :class:`UnknownPathMiddleware` for ``served``'s routes."""
    routes = getattr(served, "routes", None)
    if routes is None:  # not a Starlette app: nothing to tell paths apart by
        logger.warning(
            "Cannot list the routes of %r: unknown paths not guarded", served
        )
        return app
    return UnknownPathMiddleware(app, routes=RouteTable(routes))


def harden(service: Any, environ: Mapping[str, str]) -> None:
    """Apply every guard of this module to a ``@bentoml.service`` class.

    Args:
        service: The service, before it is served.
        environ: The environment (``CHURN_HEADER_TIMEOUT_S``, see
            src/churn_pipeline/serving/runtime.py).

    Raises:
        ValueError: If a setting in ``environ`` is malformed.
    """
    install_edge(header_timeout_s=header_timeout_s(environ), outer=_guard_paths)
    quiet_validation_errors()
    for method in service.apis.values():
        forbid_extra_inputs(method)
    prefix = (service.path_prefix or "").rstrip("/")
    api_paths = [prefix + method.route for method in service.apis.values()]
    service.add_asgi_middleware(JSONBodyMiddleware, paths=api_paths)
    service.add_asgi_middleware(RelativeRedirectMiddleware)
