"""The HTTP edge of a BentoML worker: a request-head timeout, and an outer app.

BentoML's worker (``_bentoml_impl/worker/service.py``) builds its
``uvicorn.Config`` itself, with no way to add options: only the backlog, TLS
and keep-alive settings reach uvicorn. Two things need that level:

* A request-head timeout. uvicorn has none (its "timeout-request-start" of
  Kludex/uvicorn#157 was never implemented): ``timeout_keep_alive`` only runs
  *between* requests, is not started for a new connection, and is cancelled by
  the first byte received. A client that connects and sends nothing, or sends
  half a request head, holds its connection (and a file descriptor of the
  worker) until it goes away itself: the slowloris attack.
* A place in front of BentoML's own middlewares (serving/hardening.py needs
  one in front of its metrics middleware); middlewares added with
  ``add_asgi_middleware`` run inside them.

:func:`install_edge` therefore makes :class:`EdgeProtocol` the protocol uvicorn
loads by default (``uvicorn.config.HTTP_PROTOCOLS["auto"]``, which names the
class ``Config(http="auto")`` imports when the worker starts serving): uvicorn's
own httptools protocol, which closes a connection whose request head (request
line and headers) is not complete ``header_timeout_s`` after the connection
opened or the request's first byte arrived, and which calls the app through
``outer``. A body that trickles in is not covered here: BentoML's traffic
timeout (``traffic.timeout``) answers 504 when a request has had no answer in
that time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

import uvicorn.config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from serving.auth import ASGIApp

logger = logging.getLogger(__name__)
OuterApp = Callable[[ASGIApp, Any], ASGIApp]


@dataclass(frozen=True)
class EdgeSettings:
    """What :class:`EdgeProtocol` does: the head timeout and the outer app.

    ``outer(app, served)`` returns the app uvicorn calls in place of ``app``
    (uvicorn's loaded app); ``served`` is the app given to uvicorn, BentoML's
    Starlette app.
    """

    header_timeout_s: float = 10.0
    outer: OuterApp | None = None


_settings = EdgeSettings()
_outer_apps: WeakKeyDictionary[uvicorn.config.Config, ASGIApp] = WeakKeyDictionary()


def install_edge(*, header_timeout_s: float, outer: OuterApp | None = None) -> None:
    """Serve every uvicorn server started later in this process through the edge.

    Raises:
        ValueError: If ``header_timeout_s`` is not positive.
    """
    global _settings  # noqa: PLW0603 - read by every connection's protocol
    if header_timeout_s <= 0:
        raise ValueError(f"header_timeout_s must be > 0, got {header_timeout_s}")
    _settings = EdgeSettings(header_timeout_s, outer)
    _outer_apps.clear()
    uvicorn.config.HTTP_PROTOCOLS["auto"] = f"{__name__}:{EdgeProtocol.__name__}"


def _outer_app(config: uvicorn.config.Config, app: ASGIApp) -> ASGIApp:
    """``app`` behind the outer app, built once per server configuration."""
    if _settings.outer is None:
        return app
    if config not in _outer_apps:
        try:
            _outer_apps[config] = _settings.outer(app, config.app)
        except Exception:  # an exception here would hang every connection
            logger.exception("Cannot build the outer app: serving without it")
            _outer_apps[config] = app
    return _outer_apps[config]


class EdgeProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a request-head timeout and outer app."""

    def __init__(
        self,
        config: uvicorn.config.Config,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.app = _outer_app(config, self.app)
        self.header_timeout_s = _settings.header_timeout_s
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request's head."""
        super().connection_made(transport)
        self._start_head_timer()

    def on_message_begin(self) -> None:
        """Start the clock for a later request's head at its first byte."""
        super().on_message_begin()
        if self._head_timer is None:
            self._start_head_timer()

    def on_headers_complete(self) -> None:
        """Stop the clock: the head is complete."""
        self._stop_head_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock."""
        self._stop_head_timer()
        super().connection_lost(exc)

    def _start_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(
            self.header_timeout_s, self._head_timed_out
        )

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined head is late while the previous request is answered:
            # finish that answer, then close.
            self.cycle.keep_alive = False
            return
        logger.debug(
            "Closed a connection from %s: no complete request head in %s s",
            self.client,
            self.header_timeout_s,
        )
        self.transport.close()
